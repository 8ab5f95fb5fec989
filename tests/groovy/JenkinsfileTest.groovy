import static org.junit.Assert.assertEquals
import static org.junit.Assert.assertFalse
import static org.junit.Assert.assertNotNull
import static org.junit.Assert.assertNull
import static org.junit.Assert.assertTrue

import groovy.json.JsonSlurperClassic
import org.junit.After
import org.junit.Before
import org.junit.Test

/** The ready Jenkinsfile, run through DeclarativePipeline with the real portEnrichService and port-gitops stubbed. */
class JenkinsfileTest {
    static final File JENKINSFILE = new File(PipelineHarness.REPO, 'Jenkinsfile')
    static final String PAYLOAD = '{"port_context":{"entity":"payments","repo_url":"https://bitbucket.org/acme/payments",' +
        '"runId":"r_42"},"domain":"billing","type":"backend","lifecycle":"Production"}'

    PipelineHarness h
    FakeTool tool = new FakeTool()

    @Before
    void setUp() {
        h = new PipelineHarness()
        h.loadAllVars()
        h.credentials['port-credentials'] = [username: 'port-client-id', password: 'port-client-secret']
        h.credentials['bitbucket-credentials'] = [username: 'bot@acme.example', password: 'atlassian-api-token']
        h.shHandler = tool.handler()
        h.env.BUILD_URL = 'https://jenkins.acme.example/job/enrich-service/42/'
    }

    @After
    void tearDown() {
        h.cleanup()
    }

    /** The variables Generic Webhook Trigger would contribute for a webhook from Port. */
    void webhook() {
        h.env.putAll(PORT_PAYLOAD: PAYLOAD, RUN_ID: 'r_42', ENTITY_IDENTIFIER: 'payments', TYPE: 'backend',
                     DOMAIN: 'billing', LIFECYCLE: 'Production', REPO_URL: 'https://bitbucket.org/acme/payments',
                     x_port_signature: 'v1,c2lnbmF0dXJl', x_port_timestamp: '1700000000')
    }

    DeclarativePipeline runJenkinsfile() {
        h.runScript(JENKINSFILE)
        return (DeclarativePipeline) h.binding.getVariable('declarative')
    }

    Map genericTrigger() {
        List<Map> triggers = runJenkinsfile().triggers
        assertEquals(['GenericTrigger'], triggers*.name)
        return (Map) triggers[0].args[0]
    }

    /** Each bundled action's trigger.yml parsed by PyYAML (the loader port-gitops uses), so both sides agree. */
    static List<Map> actionMappings() {
        String python = System.getenv('PORT_GITOPS_TEST_PYTHON') ?: 'python3'
        File actions = new File(PipelineHarness.REPO, 'resources/io/port/gitops/actions')
        List<String> files = actions.listFiles().findAll { it.isDirectory() }.sort { it.name }.collect {
            new File(it, 'trigger.yml').path
        }
        String read = 'import json, sys, yaml; json.dump([yaml.safe_load(open(f, encoding="utf-8")) for f in sys.argv[1:]], sys.stdout)'
        Process process = ([python, '-c', read] + files).execute()
        StringBuilder out = new StringBuilder()
        StringBuilder err = new StringBuilder()
        process.waitForProcessOutput(out, err)
        assertEquals("${python} could not read ${files} (PyYAML needed; set PORT_GITOPS_TEST_PYTHON): ${err}".toString(),
                     0, process.exitValue())
        return (List<Map>) new JsonSlurperClassic().parseText(out.toString())
    }

    @Test
    void triggerDeclaresExactlyTheVariablesEveryActionShares() {
        Map declared = genericTrigger()
        List<Map> mappings = actionMappings()
        assertTrue(mappings.size() > 1)
        List shared = mappings[0].genericVariables.findAll { Map variable ->
            mappings.every { Map mapping -> variable in mapping.genericVariables }
        }
        assertEquals(shared, declared.genericVariables)
        mappings.each { Map mapping ->
            assertEquals(mapping.genericHeaderVariables, declared.genericHeaderVariables)
            assertEquals(mapping.shouldNotFlatten, declared.shouldNotFlatten)
        }
        assertTrue([key: 'ACTION', value: '$.port_context.action'] in declared.genericVariables)
    }

    @Test
    void triggerUsesACredentialTokenAndPrintsNothing() {
        Map trigger = genericTrigger()
        assertEquals('port-gitops-webhook-token', trigger.tokenCredentialId)
        assertFalse(trigger.containsKey('token'))
        assertEquals(false, trigger.printPostContent)
        assertEquals(false, trigger.printContributedVariables)
        assertTrue(trigger.causeString.contains('$ENTITY_IDENTIFIER') && trigger.causeString.contains('$RUN_ID'))
        assertTrue([key: 'PORT_PAYLOAD', value: '$'] in trigger.genericVariables)
    }

    @Test
    void firstManualRunWithoutPayloadIsANoOpSuccess() {
        DeclarativePipeline pipeline = runJenkinsfile()
        assertEquals(['Register the webhook trigger'], pipeline.ran)
        assertEquals('SUCCESS', h.currentBuild.currentResult)
        assertEquals([], h.callsTo('sh'))
        assertTrue(h.log.toString().contains('No Port payload: nothing to enrich. This run only registers the Generic Webhook Trigger'))
    }

    @Test
    void webhookRunEnrichesWithTheSignatureChecked() {
        webhook()
        DeclarativePipeline pipeline = runJenkinsfile()
        assertEquals(['Run the Port action'], pipeline.ran)
        assertEquals('SUCCESS', h.currentBuild.currentResult)
        assertEquals(1, tool.runs.size())
        Map seen = tool.runs[0].env
        assertEquals(PAYLOAD, tool.runs[0].payload)
        assertEquals('true', seen.PORT_GITOPS_VERIFY_SIGNATURE)
        assertEquals(['v1,c2lnbmF0dXJl', '1700000000'], [seen.x_port_signature, seen.x_port_timestamp])
        assertEquals(['port-client-id', 'bot@acme.example'], [seen.PORT_CLIENT_ID, seen.BITBUCKET_USERNAME])
    }

    @Test
    void theWebhookTokenCredentialIdCanComeFromTheEnvironment() {
        assertEquals('port-gitops-webhook-token', genericTrigger().tokenCredentialId)
        h.env.WEBHOOK_TOKEN_CREDENTIALS_ID = 'team-a-gwt-token'
        assertEquals('team-a-gwt-token', genericTrigger().tokenCredentialId)
    }

    @Test
    void credentialIdsCanComeFromTheEnvironment() {
        webhook()
        h.env.PORT_CREDENTIALS_ID = 'port-us'
        h.env.BITBUCKET_TOKEN_CREDENTIALS_ID = 'bitbucket-workspace-token'
        h.credentials['port-us'] = [username: 'us-client', password: 'us-client-secret']
        h.credentials['bitbucket-workspace-token'] = 'workspace-access-token'
        runJenkinsfile()
        Map seen = tool.runs[0].env
        assertEquals(['us-client', 'workspace-access-token'], [seen.PORT_CLIENT_ID, seen.BITBUCKET_ACCESS_TOKEN])
        assertNull(seen.BITBUCKET_USERNAME)
    }

    /** The result file port-gitops keeps while it runs, once the request's signature has passed. */
    static Map running(String runId) {
        return [outcome: 'running', exit_code: null, error: null, port_run: [id: runId, status: null, reported: false, verified: true]]
    }

    @Test
    void theScmIsChosenByTheEnvironmentWithItsCredential() {
        webhook()
        h.env.PORT_GITOPS_SCM = 'github'
        h.credentials['github-credentials'] = [username: '123456', password: 'ghs_installation-token']
        runJenkinsfile()
        Map seen = tool.runs[0].env
        assertEquals(['github', 'ghs_installation-token', 'true'],
                     [seen.PORT_GITOPS_SCM, seen.GITHUB_TOKEN, seen.PORT_GITOPS_VERIFY_SIGNATURE])
        assertEquals([], seen.keySet().findAll { it.startsWith('BITBUCKET') } as List)
        h.env.PORT_GITOPS_SCM = 'gitlab'
        h.env.GITLAB_CREDENTIALS_ID = 'gitlab-group-token'
        h.credentials['gitlab-group-token'] = 'glpat-group-access-token'
        runJenkinsfile()
        assertEquals(['gitlab', 'glpat-group-access-token', null],
                     [tool.runs[1].env.PORT_GITOPS_SCM, tool.runs[1].env.GITLAB_TOKEN, tool.runs[1].env.GITHUB_TOKEN])
        assertEquals('SUCCESS', h.currentBuild.currentResult)
    }

    @Test
    void aBuildKilledAfterTheSignatureWasVerifiedClosesThePortRun() {
        webhook()
        tool.status = 137  // e.g. the kernel's OOM killer
        tool.result = running('r_42')
        tool.stderr = 'Killed\n'
        h.shHandler = { String script, Map env ->
            Map answer = tool.answer(env)
            env.PORT_GITOPS_STEP_ACTION == 'report' ? [status: 0] : answer
        }
        runJenkinsfile()
        assertEquals('FAILURE', h.currentBuild.result)
        assertEquals(['enrich', 'report'], tool.runs*.env*.PORT_GITOPS_STEP_ACTION)
        Map report = tool.runs[1].env
        assertEquals('r_42', report.PORT_GITOPS_STEP_RUN_ID)
        assertEquals('The Jenkins build failed before port-gitops finished', report.PORT_GITOPS_STEP_MESSAGE)
        assertEquals('https://jenkins.acme.example/job/enrich-service/42/', report.BUILD_URL)
    }

    @Test
    void aBuildThatFailsBeforeTheSignatureWasVerifiedLeavesTheNamedRunAlone() {
        // A forged request must not get someone else's run closed by making the tool die early (issue 12 C.1).
        webhook()
        tool.status = 2
        tool.result = null
        tool.stderr = 'port-gitops: /usr/bin/python3 is Python 3.8.10; the pinned dependencies need Python >= 3.11\n'
        runJenkinsfile()
        assertEquals('FAILURE', h.currentBuild.result)
        assertEquals(['enrich'], tool.runs*.env*.PORT_GITOPS_STEP_ACTION)
        assertNotNull(h.log.toString().find('never verified the webhook signature'))
    }

    @Test
    void aRunIdVerifiedForAnotherRequestIsNotClosed() {
        webhook()
        tool.status = 137
        tool.result = running('r_other')
        runJenkinsfile()
        assertEquals(['enrich'], tool.runs*.env*.PORT_GITOPS_STEP_ACTION)
    }

    @Test
    void anAbortedBuildClosesThePortRunItVerified() {
        webhook()
        h.shHandler = { String script, Map env ->
            if (env.PORT_GITOPS_STEP_ACTION == 'enrich') {
                tool.result = running('r_42')
                tool.answer(env)
                throw new PipelineAborted('Timeout has been exceeded')
            }
            tool.answer(env)
        }
        runJenkinsfile()
        assertEquals('ABORTED', h.currentBuild.result)
        assertEquals(['enrich', 'report'], tool.runs*.env*.PORT_GITOPS_STEP_ACTION)
        assertTrue(tool.runs[1].env.PORT_GITOPS_STEP_MESSAGE.startsWith('The Jenkins build was aborted'))
    }

    @Test
    void anAbortBeforeVerificationLeavesTheNamedRunAlone() {
        webhook()
        h.shHandler = { String script, Map env ->
            throw new PipelineAborted('Timeout has been exceeded')
        }
        runJenkinsfile()
        assertEquals('ABORTED', h.currentBuild.result)
        assertEquals([], tool.runs)
    }

    @Test
    void aFailureTheToolReportedIsNotReportedAgain() {
        webhook()
        tool.status = 3
        tool.result = [outcome: 'failed', exit_code: 3, error: "type: 'x' is not one of frontend, backend, library",
                       port_run: [id: 'r_42', status: 'FAILURE', reported: true]]
        runJenkinsfile()
        assertEquals('FAILURE', h.currentBuild.result)
        assertEquals(['enrich'], tool.runs*.env*.PORT_GITOPS_STEP_ACTION)
    }

    @Test
    void aRejectedSignatureNeverTouchesTheNamedRun() {
        webhook()
        tool.status = 5
        tool.result = [outcome: 'failed', exit_code: 5, error: 'webhook signature does not match', port_run: [id: null]]
        runJenkinsfile()
        assertEquals('FAILURE', h.currentBuild.result)
        assertEquals(['enrich'], tool.runs*.env*.PORT_GITOPS_STEP_ACTION)
        assertNotNull(h.log.toString().find('handled the Port run itself'))
    }
}
