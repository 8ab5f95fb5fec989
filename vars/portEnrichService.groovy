// portEnrichService: a Port self-service action (Enrich Service by default, any bundled or custom one with
// `action:`), run by port-gitops on this agent (help: portEnrichService.txt; portGitopsAction is the same step).
// Glue only: check the parameters, bind the credentials, ship the tool, run ONE constant `sh`, read the
// tool's result file. Payload values reach the tool only in a file, other values only through withEnv,
// secrets only through withCredentials: nothing is ever interpolated into a shell script.
import groovy.json.JsonException
import groovy.json.JsonOutput
import groovy.json.JsonSlurperClassic
import groovy.transform.Field

@Field static final String STEP = 'portEnrichService'
@Field static final String RESOURCES = 'io/port/gitops/'
@Field static final String UTF8 = 'UTF-8'
// What a step without 'command' ships to the agent, each with the encoding that keeps its bytes intact.
@Field static final List<List<String>> SHIPPED = [
    ['port-gitops.pyz', 'Base64'], ['requirements.lock', 'UTF-8'], ['venv-bootstrap.sh', 'UTF-8'],
]
// Step parameter -> the port-gitops environment variable it sets (the contract's configuration table).
@Field static final Map<String, String> SETTINGS = [
    bitbucketKind: 'BITBUCKET_KIND', bitbucketUrl: 'BITBUCKET_URL', bitbucketWebUrl: 'BITBUCKET_WEB_URL',
    workspace: 'BITBUCKET_WORKSPACE', project: 'BITBUCKET_PROJECT', portBaseUrl: 'PORT_BASE_URL',
    mapping: 'PORT_GITOPS_TRIGGER', template: 'PORT_GITOPS_TEMPLATE', blueprints: 'PORT_GITOPS_BLUEPRINTS',
    path: 'PORT_GITOPS_PATH', branch: 'PORT_GITOPS_BRANCH', base: 'PORT_GITOPS_BASE',
    reviewers: 'PORT_GITOPS_REVIEWERS', dryRun: 'PORT_GITOPS_DRY_RUN', verifySignature: 'PORT_GITOPS_VERIFY_SIGNATURE',
    scm: 'PORT_GITOPS_SCM', owner: 'GITHUB_OWNER', githubApiUrl: 'GITHUB_API_URL', githubWebUrl: 'GITHUB_WEB_URL',
    group: 'GITLAB_GROUP', gitlabUrl: 'GITLAB_URL', labels: 'PORT_GITOPS_LABELS', draft: 'PORT_GITOPS_DRAFT',
    action: 'PORT_GITOPS_ACTION',
]
// The tool's --scm names, and each one's credential parameters by family; a call gives exactly one of them.
@Field static final List<String> SCMS = ['bitbucket-cloud', 'bitbucket-datacenter', 'github', 'gitlab']
@Field static final Map<String, List<String>> SCM_CREDENTIALS = [
    bitbucket: ['bitbucketCredentialsId', 'bitbucketTokenCredentialsId'],
    github: ['githubCredentialsId'],
    gitlab: ['gitlabCredentialsId'],
]
@Field static final Map<String, String> BITBUCKET_KINDS = [cloud: 'bitbucket-cloud', datacenter: 'bitbucket-datacenter']
// Individual values -> where Port's webhook body carries them (the bundled mappings read them there).
// domain, type and lifecycle are the Enrich Service's inputs as named parameters: a backward-compatibility
// shim for `values` (any action's inputs).
@Field static final Map<String, List<String>> VALUES = [
    entity: ['port_context', 'entity'], repoUrl: ['port_context', 'repo_url'], runId: ['port_context', 'runId'],
    domain: ['domain'], type: ['type'], lifecycle: ['lifecycle'],
]
@Field static final List<String> REQUIRED_VALUES = ['entity', 'domain', 'type', 'lifecycle', 'repoUrl']
// With `action` or `values`, the step requires only what every action needs; the tool checks the rest.
@Field static final List<String> REQUIRED_STRUCTURAL = ['entity', 'repoUrl']
@Field static final List<String> SWITCHES = ['dryRun', 'verifySignature', 'draft']
@Field static final List<String> NAME_LISTS = ['reviewers', 'labels']
// The result file's outcome while the tool still runs: it names the run id and whether it was verified.
@Field static final String RUNNING = 'running'
// Parameters of both call and reportFailure; each adds its own (SETTINGS and VALUES belong to call).
@Field static final List<String> TOOL_KEYS = ['portCredentialsId', 'python', 'command']
@Field static final List<String> CALL_KEYS = ['payload', 'values', 'bitbucketCredentialsId',
                                               'bitbucketTokenCredentialsId',
                                               'githubCredentialsId', 'gitlabCredentialsId']
@Field static final List<String> REPORT_KEYS = ['runId', 'message', 'portBaseUrl', 'verifySignature']

// The only shell script this step runs. Everything it needs is in its environment.
@Field static final String TOOL_SCRIPT = '''set +x +e
dir=$PORT_GITOPS_STEP_DIR
rm -f "$dir/result.json" "$dir/stderr.log"
port_gitops() {
    if [ -n "${PORT_GITOPS_STEP_COMMAND:-}" ]; then
        "$PORT_GITOPS_STEP_COMMAND" "$@"
    else
        venv_python=$(sh "$dir/venv-bootstrap.sh" "$PORT_GITOPS_STEP_PYTHON" "$dir/requirements.lock") || return
        "$venv_python" "$dir/port-gitops.pyz" "$@"
    fi
}
if [ "$PORT_GITOPS_STEP_ACTION" = report ]; then
    set -- report --run-id "$PORT_GITOPS_STEP_RUN_ID" --status FAILURE --message "$PORT_GITOPS_STEP_MESSAGE"
else
    set -- enrich --payload "$dir/payload.json" --result-file "$dir/result.json"
fi
# stderr streams to the log and into a file (its last line is the reason when there is no result file);
# fd 4 carries the exit status out of the pipeline.
exec 3>&1
status=$( { { port_gitops "$@" 2>&1 1>&3 3>&-; echo "$?" >&4; } | tee "$dir/stderr.log" >&2; } 4>&1 )
exit "${status:-1}"
'''

/** Run the enrichment; returns the tool's result (outcome, pull_request, port_run, ...) as a Map. */
Map call(Map config = [:]) {
    String problem = callProblem(config)
    if (problem) {
        error("${STEP}: ${problem}")
    }
    env.PORT_GITOPS_OUTCOME = ''  // set again below once this run's tool has finished
    String dir = prepareTool(config)
    writeFile(file: "${dir}/payload.json", encoding: UTF8,
              text: given(config.payload) ? config.payload.toString() : valuesPayload(config))
    List<List> scm = scmCredentials(config)
    List<List> credentials = []
    for (int i = 0; i < scm.size(); i++) {
        credentials.add(portCredentials(config) + scm[i])
    }
    int status = runTool(config, dir, settingsEnv(config) + ['PORT_GITOPS_STEP_ACTION=enrich'], credentials)
    Map result = parseResult(readIfExists("${dir}/result.json"))
    boolean finished = result && result.outcome != RUNNING
    if (finished) {
        // The tool finished and has dealt with the Port run itself (or must not touch it): see reportFailure.
        env.PORT_GITOPS_OUTCOME = String.valueOf(result.outcome)
    }
    if (!finished || !(status in [0, 4])) {
        String reason = result?.error ?: lastLine(readIfExists("${dir}/stderr.log"))
        error("${STEP}: ${reason ?: 'port-gitops wrote no result file'} (port-gitops exit ${status})")
    }
    if (status == 4) {
        unstable("${STEP}: ${result.error ?: 'the outcome could not be reported to Port'}")
    }
    return result
}

/**
 * For a pipeline's post { failure / aborted }: close the Port run as FAILURE when the build died
 * before port-gitops finished (bootstrap error, timeout, abort, the tool killed). Does nothing when the
 * tool finished, since it has then reported itself or, after a rejected signature, must not trust the
 * run id. With verifySignature: true, closes only a run id the tool verified (its result file says so
 * from the moment the signature passed): a forged request never gets someone else's run closed.
 * Returns whether the run was closed; never fails the build a second time.
 */
boolean reportFailure(Map config = [:]) {
    String problem = unknownKeys(config, REPORT_KEYS + TOOL_KEYS) ?: typeProblem(config)
    if (problem) {
        error("${STEP}.reportFailure: ${problem}")
    }
    if (env.PORT_GITOPS_OUTCOME) {
        echo("${STEP}.reportFailure: port-gitops finished (outcome ${env.PORT_GITOPS_OUTCOME}) " +
             'and handled the Port run itself')
        return false
    }
    if (!given(config.runId)) {
        echo("${STEP}.reportFailure: no Port run id (a build not started by Port), nothing to close")
        return false
    }
    if (config.verifySignature?.toString() == 'true' && !verifiedRunId(config.runId.toString())) {
        echo("${STEP}.reportFailure: the Port run is left open: port-gitops never verified the webhook " +
             'signature of the request that named it (verifySignature: true)')
        return false
    }
    String dir = prepareTool(config)
    String message = config.message ?:
        "The Jenkins build ended (${currentBuild.currentResult}) before port-gitops could report"
    List<String> environment = ['PORT_GITOPS_STEP_ACTION=report', "PORT_GITOPS_STEP_RUN_ID=${config.runId}",
                                "PORT_GITOPS_STEP_MESSAGE=${message}"] + settingsEnv(config)
    int status = runTool(config, dir, environment, [portCredentials(config)])
    if (status != 0) {
        echo("${STEP}.reportFailure: port-gitops report exited ${status}; " +
             'the Port run may stay open (see the lines above)')
    }
    return status == 0
}

/** Whether this workspace's last enrichment verified the signature of a request naming `runId`. */
private boolean verifiedRunId(String runId) {
    Map result = parseResult(readIfExists("${toolDir()}/result.json"))
    return result.port_run instanceof Map && result.port_run.verified == true && result.port_run.id == runId
}

private String toolDir() {
    return "${pwd(tmp: true)}/port-gitops"
}

private String prepareTool(Map config) {
    String dir = toolDir()
    if (!given(config.command)) {
        for (int i = 0; i < SHIPPED.size(); i++) {
            String name = SHIPPED[i][0]
            String encoding = SHIPPED[i][1]
            // Nested so that the Base64 text is never a CPS local (locals are serialized at every step).
            writeFile(file: "${dir}/${name}", encoding: encoding,
                      text: libraryResource(resource: RESOURCES + name, encoding: encoding))
        }
    }
    return dir
}

/** Runs the tool with the first of `choices` (credential binding lists) Jenkins can bind. */
private int runTool(Map config, String dir, List<String> environment, List<List> choices) {
    List<String> toolEnv = [
        "PORT_GITOPS_STEP_DIR=${dir}",
        "PORT_GITOPS_STEP_COMMAND=${given(config.command) ? config.command : ''}",
        "PORT_GITOPS_STEP_PYTHON=${given(config.python) ? config.python : 'python3'}",
    ]
    int status = -1
    boolean started = false
    Exception refused = null
    for (int i = 0; i < choices.size() && !started; i++) {
        try {
            withCredentials(choices[i]) {
                started = true
                withEnv(toolEnv + environment) {
                    status = sh(script: TOOL_SCRIPT, returnStatus: true, label: 'port-gitops')
                }
            }
        // Jenkins' refusal to bind (CredentialNotFoundException, of no fixed public type across versions)
        // groovylint-disable-next-line CatchException
        } catch (Exception failure) {
            if (started) {
                throw failure
            }
            refused = refused ?: failure  // Jenkins' reason for the first (documented) kind
        }
    }
    if (!started) {
        throw refused
    }
    return status
}

private String readIfExists(String file) {
    return fileExists(file) ? readFile(file: file, encoding: UTF8) : null
}

private List portCredentials(Map config) {
    return [usernamePassword(credentialsId: config.portCredentialsId ?: 'port-credentials',
                             usernameVariable: 'PORT_CLIENT_ID', passwordVariable: 'PORT_CLIENT_SECRET')]
}

/** The SCM's credential bindings; for 'githubCredentialsId' two kinds, tried in order (see runTool). */
private List<List> scmCredentials(Map config) {
    if (given(config.githubCredentialsId)) {
        // Secret text: a token. Username with password: Jenkins' GitHub App credential, whose password is an
        // installation token minted for this build (its username, the app id, is not needed).
        return [[string(credentialsId: config.githubCredentialsId, variable: 'GITHUB_TOKEN')],
                [usernamePassword(credentialsId: config.githubCredentialsId,
                                  usernameVariable: 'PORT_GITOPS_GITHUB_APP', passwordVariable: 'GITHUB_TOKEN')]]
    }
    if (given(config.gitlabCredentialsId)) {
        return [[string(credentialsId: config.gitlabCredentialsId, variable: 'GITLAB_TOKEN')]]
    }
    return given(config.bitbucketTokenCredentialsId) ?
        [[string(credentialsId: config.bitbucketTokenCredentialsId, variable: 'BITBUCKET_ACCESS_TOKEN')]] :
        [[usernamePassword(credentialsId: config.bitbucketCredentialsId,
                           usernameVariable: 'BITBUCKET_USERNAME', passwordVariable: 'BITBUCKET_TOKEN')]]
}

// ---- pure helpers (@NonCPS: no steps inside) ----------------------------------------------------------

@NonCPS
private boolean given(Object value) {
    return value != null && !(value instanceof CharSequence && value.toString().isEmpty()) &&
        !(value instanceof Collection && value.isEmpty())
}

@NonCPS
private String callProblem(Map config) {
    String problem = unknownKeys(config, CALL_KEYS + TOOL_KEYS + VALUES.keySet() + SETTINGS.keySet()) ?:
        typeProblem(config) ?: inputProblem(config)
    if (problem) {
        return problem
    }
    return scmProblem(config)
}

/** Exactly the credentials of the chosen SCM: the 'scm' parameter, else the agent's PORT_GITOPS_SCM. */
@NonCPS
private String scmProblem(Map config) {
    String kind = given(config.bitbucketKind) ? config.bitbucketKind.toString() : null
    if (kind && !BITBUCKET_KINDS.containsKey(kind)) {
        return "'bitbucketKind' must be 'cloud' or 'datacenter', not '${kind}'"
    }
    String scm = given(config.scm) ? config.scm.toString() :
        (kind ? BITBUCKET_KINDS[kind] : (env.PORT_GITOPS_SCM ?: 'bitbucket-cloud'))
    String source = given(config.scm) || kind ? 'scm' : 'scm (from PORT_GITOPS_SCM)'
    if (!(scm in SCMS)) {
        return "'${source}' must be one of ${SCMS.join(', ')}, not '${scm}'"
    }
    if (kind && BITBUCKET_KINDS[kind] != scm) {
        return "'bitbucketKind: ${kind}' contradicts 'scm: ${scm}'; give only 'scm'"
    }
    List<String> allowed = SCM_CREDENTIALS[scm.startsWith('bitbucket') ? 'bitbucket' : scm]
    List<String> credentials = SCM_CREDENTIALS.values().flatten().unique().findAll { String key ->
        given(config[key])
    } as List<String>
    String foreign = credentials.find { String key -> !(key in allowed) }
    if (foreign) {
        String takes = allowed.collect { String key -> "'${key}'" }.join(' or ')
        return "'${foreign}' does not apply to scm '${scm}' (it takes ${takes})"
    }
    if (credentials.size() > 1) {
        return "give '${credentials[0]}' or '${credentials[1]}', not both"
    }
    if (credentials) {
        return null
    }
    return scm == 'github' ? "missing required parameter 'githubCredentialsId' (secret text token, or the " +
        'username/password credential of a GitHub App)' :
        (scm == 'gitlab' ? "missing required parameter 'gitlabCredentialsId' (secret text)" :
        "missing required parameter 'bitbucketCredentialsId' (username/password) " +
        "or 'bitbucketTokenCredentialsId' (secret text)")
}

/** The raw payload, or all required individual values; never both. */
@NonCPS
private String inputProblem(Map config) {
    List<String> values = (VALUES.keySet() + ['values']).findAll { String key -> given(config[key]) } as List<String>
    if (given(config.payload)) {
        return values ? "give either 'payload' or the individual values, not both (got 'payload' and '${values[0]}')" :
            null
    }
    String problem = valuesProblem(config.values)
    if (problem) {
        return problem
    }
    List<String> required = given(config.action) || given(config.values) ? REQUIRED_STRUCTURAL : REQUIRED_VALUES
    String missing = required.find { String key -> !given(config[key]) }
    if (missing) {
        return values ? "missing required parameter '${missing}' (or give the raw 'payload' instead)" :
            "missing required parameter 'payload' (the raw body Port sent, e.g. env.PORT_PAYLOAD) " +
            "or the individual values ${REQUIRED_VALUES.join(', ')} (or 'action', 'entity', 'repoUrl' and 'values')"
    }
    // Both describe the raw body Port sent, which individual values cannot reproduce.
    String needsPayload = config.verifySignature?.toString() == 'true' ? 'verifySignature' :
        (given(config.mapping) ? 'mapping' : null)
    return needsPayload ? "'${needsPayload}' needs the raw 'payload': it cannot be used with individual values" : null
}

/** `values`: the action's inputs by the names its body gives them; JSON values, never the structural ones. */
@NonCPS
private String valuesProblem(Object values) {
    if (values == null) {
        return null
    }
    if (!(values instanceof Map)) {
        return "'values' must be a Map of the action's inputs, not ${typeName(values)}"
    }
    Object clash = ((Map) values).keySet().find { Object key ->
        !(key instanceof CharSequence) || key == 'port_context'
    }
    return clash == null ? null :
        "'values' keys must be input names (not '${clash}'): the step builds port_context itself"
}

@NonCPS
private String unknownKeys(Map config, List<String> known) {
    Object unknown = config.keySet().find { Object key -> !(key in known) }
    return unknown == null ? null : "unknown parameter '${unknown}' (known: ${known.sort(false).join(', ')})"
}

@NonCPS
private String typeProblem(Map config) {
    if (given(config.python) && given(config.command)) {
        return "give 'python' (to build the shipped tool's environment) " +
            "or 'command' (a pre-installed port-gitops), not both"
    }
    return config.findResult { String key, Object value -> valueProblem(key, value) }
}

@NonCPS
private String valueProblem(String key, Object value) {
    if (key in SWITCHES) {
        return value == null || value instanceof Boolean || value.toString() in ['true', 'false'] ? null :
            "'${key}' must be true or false, not " + (value instanceof CharSequence ? "'${value}'" : typeName(value))
    }
    if (key in NAME_LISTS) {
        return value == null || value instanceof CharSequence ||
            (value instanceof Collection && value.every { Object name -> name instanceof CharSequence }) ? null :
            "'${key}' must be a list of names or a comma-separated String"
    }
    if (key == 'values') {
        return null  // valuesProblem
    }
    return value == null || value instanceof CharSequence ? null : "'${key}' must be a String, not ${typeName(value)}"
}

@NonCPS
private String typeName(Object value) {
    return value.getClass().simpleName
}

@NonCPS
private List<String> settingsEnv(Map config) {
    return SETTINGS.findResults { String key, String name ->
        Object value = config[key]
        String text = value instanceof Collection ? value.join(',') : String.valueOf(value)
        given(value) ? "${name}=${text}".toString() : null
    } as List<String>
}

@NonCPS
private String valuesPayload(Map config) {
    Map body = [port_context: [:]]
    VALUES.each { String key, List<String> path ->
        if (given(config[key])) {
            Map parent = path.size() == 1 ? body : (Map) body[path[0]]
            parent[path[-1]] = config[key].toString()
        }
    }
    if (given(config.action)) {
        body.port_context.action = config.action.toString()
    }
    // The action's inputs where Port's body puts them, with their JSON types (lists stay lists).
    ((Map) (config.values ?: [:])).each { Object key, Object value -> body[key.toString()] = value }
    return JsonOutput.toJson(body)
}

/** The result file's object; empty when there is none or it cannot be read (stderr has the reason then). */
@NonCPS
private Map parseResult(String text) {
    try {
        Object parsed = text == null ? null : new JsonSlurperClassic().parseText(text)
        return parsed instanceof Map ? (Map) parsed : [:]
    } catch (JsonException unreadable) {
        return [:]
    }
}

@NonCPS
private String lastLine(String text) {
    return text?.readLines()?.reverse()?.find { String line -> line.trim() }?.trim()
}
