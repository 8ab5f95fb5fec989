import static groovy.test.GroovyAssert.shouldFail
import static org.junit.Assert.assertEquals
import static org.junit.Assert.assertFalse
import static org.junit.Assert.assertTrue

import groovy.json.JsonOutput
import groovy.json.JsonSlurperClassic
import org.junit.After
import org.junit.Before
import org.junit.Test

/**
 * Shell metacharacters in payload values, settings and secrets, run through a REAL shell (`sh -xe -c`)
 * and a stand-in port-gitops given as 'command': the values must arrive intact, no recorded `sh`
 * script or `echo` may contain them, and the marker file they try to create must never appear.
 */
class HostileInputTest {
    PipelineHarness h
    File scratch
    File marker
    File record
    List<String> hostile
    Map<String, String> secrets

    @Before
    void setUp() {
        scratch = File.createTempDir('hostile', '')
        marker = new File(scratch, 'x')
        record = new File(scratch, 'record.json')
        String touch = "touch ${marker}"
        hostile = ["\$(${touch})", "`${touch}`", "'; ${touch}; echo '", "\"; ${touch}; echo \"", "line\n${touch}\n",
                   "\${IFS}${touch} #", "a && ${touch} || ${touch}", "\$PORT_CLIENT_SECRET", "back\\slash \\\$(${touch})",
                   "caf\u00e9 \u2603 | ${touch} > /dev/null"]*.toString()
        secrets = [port: "p\$(${touch})'\"`;|&<>*?~!#\n".toString(), bitbucket: "t`${touch}`\$HOME\\'\"".toString(),
                   user: "u'\$(${touch})".toString()]
        h = new PipelineHarness()
        h.loadVar('portEnrichService')
        h.realShell = true
        h.agentEnv.FAKE_TOOL_RECORD = record.path
        h.credentials['port-credentials'] = [username: secrets.user, password: secrets.port]
        h.credentials['bitbucket'] = secrets.bitbucket
    }

    @After
    void tearDown() {
        h.cleanup()
        scratch.deleteDir()
    }

    /** A stand-in port-gitops: records argv, the secrets it sees and the payload, then fails like exit 3. */
    String fakeTool() {
        File tool = new File(scratch, 'port-gitops')
        tool.text = '''#!/usr/bin/env python3
import json, os, sys
args = sys.argv[1:]
seen = {"argv": args, "env": {k: os.environ.get(k) for k in
        ("PORT_CLIENT_ID", "PORT_CLIENT_SECRET", "BITBUCKET_ACCESS_TOKEN", "PORT_GITOPS_BRANCH", "PORT_GITOPS_REVIEWERS",
         "GITHUB_TOKEN", "GITLAB_TOKEN", "PORT_GITOPS_LABELS", "GITHUB_OWNER", "GITLAB_GROUP")}}
status = 0
if args[0] == "enrich":
    with open(args[args.index("--payload") + 1], encoding="utf-8") as f:
        seen["payload"] = f.read()
    entity = json.loads(seen["payload"])["port_context"]["entity"]
    with open(args[args.index("--result-file") + 1], "w", encoding="utf-8") as f:
        json.dump({"outcome": "failed", "exit_code": 3, "error": "entity: %r is not a valid identifier" % entity}, f)
    status = 3
sys.stderr.write("port-gitops: got %r\\n" % (args,))
with open(os.environ["FAKE_TOOL_RECORD"], "w", encoding="utf-8") as f:
    json.dump(seen, f)
sys.exit(status)
'''
        tool.setExecutable(true)
        return tool.path
    }

    Map seenByTool() {
        return (Map) new JsonSlurperClassic().parseText(record.getText('UTF-8'))
    }

    void assertNothingLeaked() {
        assertFalse("${marker} was created: a value was executed".toString(), marker.exists())
        List<String> scripts = h.stringsGivenTo('sh')
        List<String> echoes = h.stringsGivenTo('echo')
        (hostile + secrets.values()).each { String value ->
            assertFalse("sh script contains ${value}".toString(), scripts.any { it.contains(value) })
            assertFalse("echo contains ${value}".toString(), echoes.any { it.contains(value) })
        }
        Map toolEnv = seenByTool().env
        assertEquals([secrets.user, secrets.port, secrets.bitbucket],
                     [toolEnv.PORT_CLIENT_ID, toolEnv.PORT_CLIENT_SECRET, toolEnv.BITBUCKET_ACCESS_TOKEN])
    }

    @Test
    void hostilePayloadIsDeliveredByteForByteAndNeverRuns() {
        hostile.each { String value ->
            String payload = JsonOutput.toJson([port_context: [entity: value, repo_url: value, runId: value],
                                                domain: value, type: value, lifecycle: value])
            String message = shouldFail(PipelineError) {
                h.binding.getVariable('portEnrichService').call(payload: payload, bitbucketTokenCredentialsId: 'bitbucket',
                                                                command: fakeTool(), branch: value, reviewers: [value, 'bob'])
            }.message
            assertTrue(message, message.startsWith('portEnrichService: entity: ') && message.endsWith('(port-gitops exit 3)'))
            assertEquals(payload, seenByTool().payload)
            assertEquals([value, "${value},bob".toString()], [seenByTool().env.PORT_GITOPS_BRANCH, seenByTool().env.PORT_GITOPS_REVIEWERS])
            assertNothingLeaked()
        }
    }

    @Test
    void hostileGithubAndGitlabSecretsAndSettingsArriveIntact() {
        h.credentials['github-app'] = [username: secrets.user, password: secrets.bitbucket]
        h.credentials['gitlab'] = secrets.port
        Closure enrich = { Map config ->
            shouldFail(PipelineError) {
                h.binding.getVariable('portEnrichService').call(config + [payload: '{"port_context": {"entity": "x"}}',
                                                                          command: fakeTool()])
            }
        }
        enrich(scm: 'github', githubCredentialsId: 'github-app', owner: hostile[0], labels: [hostile[1], hostile[2]])
        assertEquals([secrets.bitbucket, hostile[0], "${hostile[1]},${hostile[2]}".toString()],
                     [seenByTool().env.GITHUB_TOKEN, seenByTool().env.GITHUB_OWNER, seenByTool().env.PORT_GITOPS_LABELS])
        enrich(scm: 'gitlab', gitlabCredentialsId: 'gitlab', group: hostile[3], draft: true)
        assertEquals([secrets.port, hostile[3], null],
                     [seenByTool().env.GITLAB_TOKEN, seenByTool().env.GITLAB_GROUP, seenByTool().env.GITHUB_TOKEN])
        assertFalse(marker.exists())
        (hostile + secrets.values()).each { String value ->
            assertFalse(value, (h.stringsGivenTo('sh') + h.stringsGivenTo('echo')).any { it.contains(value) })
        }
    }

    @Test
    void hostileIndividualValuesBecomeJsonData() {
        Map values = [entity: hostile[0], domain: hostile[1], type: hostile[2], lifecycle: hostile[4], runId: hostile[5],
                      repoUrl: hostile[6]]
        shouldFail(PipelineError) {
            h.binding.getVariable('portEnrichService').call(values + [bitbucketTokenCredentialsId: 'bitbucket', command: fakeTool()])
        }
        Map body = (Map) new JsonSlurperClassic().parseText((String) seenByTool().payload)
        assertEquals(values.subMap(['entity', 'runId']), [entity: body.port_context.entity, runId: body.port_context.runId])
        assertEquals([hostile[1], hostile[2], hostile[4]], [body.domain, body.type, body.lifecycle])
        assertNothingLeaked()
    }

    @Test
    void hostileRunIdAndMessageReachReportAsSingleArguments() {
        h.credentials.remove('bitbucket')
        secrets.remove('bitbucket')
        boolean closed = h.binding.getVariable('portEnrichService').reportFailure(runId: hostile[0], message: hostile[4],
                                                                                 command: fakeTool())
        assertTrue(closed)
        assertEquals(['report', '--run-id', hostile[0], '--status', 'FAILURE', '--message', hostile[4]], seenByTool().argv)
        assertFalse(marker.exists())
        assertFalse(h.stringsGivenTo('sh').any { it.contains(hostile[0]) || it.contains(hostile[4]) })
    }

    @Test
    void hostileInterpreterNameIsOnlyEverAName() {
        String message = shouldFail(PipelineError) {
            h.binding.getVariable('portEnrichService').call(payload: '{}', bitbucketTokenCredentialsId: 'bitbucket',
                                                            python: hostile[0])
        }.message
        assertTrue(message, message.contains('not found on this agent') && message.endsWith('(port-gitops exit 2)'))
        assertFalse(marker.exists())
    }
}
