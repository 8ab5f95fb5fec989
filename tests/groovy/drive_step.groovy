// Runs portEnrichService once in the harness with a REAL shell, for the end-to-end test
// (tests/python/test_jenkins_step_e2e.py). Usage: groovy -cp harness drive_step.groovy SPEC.json
// SPEC: {"params": {...step parameters}, "credentials": {id: secret or {username, password}},
//        "env": {...build environment, e.g. GWT variables}, "agentEnv": {...agent environment}}
// Prints one JSON line on stdout: {"result": Map or null, "error": message or null, "build": result, "log": console}.
import groovy.json.JsonOutput
import groovy.json.JsonSlurperClassic

Map spec = (Map) new JsonSlurperClassic().parse(new File(args[0]), 'UTF-8')
PipelineHarness h = new PipelineHarness()
h.realShell = true
h.credentials.putAll((Map) spec.credentials ?: [:])
h.env.putAll((Map) spec.env ?: [:])
h.agentEnv.putAll((Map) spec.agentEnv ?: [:])
Script step = h.loadVar('portEnrichService')
Map outcome = [result: null, error: null]
try {
    outcome.result = step.call((Map) spec.params)
} catch (PipelineError failed) {
    outcome.error = failed.message
} finally {
    h.cleanup()
}
println JsonOutput.toJson(outcome + [build: h.currentBuild.currentResult, log: h.log.toString()])
