import groovy.json.JsonOutput

/**
 * Stands in for port-gitops behind the step's `sh` (as a PipelineHarness.shHandler): records what the
 * tool would see and answers through the same files the real script uses (result.json, stderr.log).
 */
class FakeTool {
    int status = 0
    /** Written as result.json; null writes none. */
    Map result = [outcome: 'created', dry_run: false, repository: 'acme/payments', branch: 'port/enrich-payments',
                  base: 'main', commit: 'abc123', pull_request: [id: 7, url: 'https://bitbucket.org/acme/payments/pull-requests/7'],
                  port_run: [id: 'r_1', status: 'SUCCESS', reported: true], exit_code: 0, error: null, warnings: []]
    String stderr = ''
    /** One entry per run: [env: what `sh` saw, payload: payload.json's text for enrich]. */
    final List<Map> runs = []

    Closure handler() {
        return { String script, Map env -> answer(env) }
    }

    Map answer(Map env) {
        File dir = new File((String) env.PORT_GITOPS_STEP_DIR)
        ['result.json', 'stderr.log'].each { new File(dir, it).delete() }
        File payload = new File(dir, 'payload.json')
        runs << [env: env, payload: env.PORT_GITOPS_STEP_ACTION == 'enrich' ? payload.getText('UTF-8') : null]
        if (result != null) {
            new File(dir, 'result.json').setText(JsonOutput.toJson(result), 'UTF-8')
        }
        if (stderr) {
            new File(dir, 'stderr.log').setText(stderr, 'UTF-8')
        }
        return [status: status, stdout: '']
    }
}
