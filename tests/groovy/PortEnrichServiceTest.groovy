import static groovy.test.GroovyAssert.shouldFail
import static org.junit.Assert.assertEquals
import static org.junit.Assert.assertFalse
import static org.junit.Assert.assertTrue

import groovy.json.JsonSlurperClassic
import org.junit.After
import org.junit.Before
import org.junit.Test

/** vars/portEnrichService.groovy with port-gitops stubbed: parameters, credentials, shipping, results, failures. */
class PortEnrichServiceTest {
    static final String PAYLOAD = '{"port_context":{"entity":"payments","repo_url":"https://bitbucket.org/acme/payments",' +
        '"runId":"r_1"},"domain":"billing","type":"backend","lifecycle":"Production"}'
    static final Map VALUES = [entity: 'payments', domain: 'billing', type: 'backend', lifecycle: 'Production',
                               runId: 'r_1', repoUrl: 'https://bitbucket.org/acme/payments']
    static final List<String> TOOL_VARIABLES = ['BITBUCKET_KIND', 'BITBUCKET_URL', 'BITBUCKET_WEB_URL', 'BITBUCKET_WORKSPACE',
        'BITBUCKET_PROJECT', 'PORT_BASE_URL', 'PORT_GITOPS_TRIGGER', 'PORT_GITOPS_TEMPLATE', 'PORT_GITOPS_BLUEPRINTS',
        'PORT_GITOPS_PATH', 'PORT_GITOPS_BRANCH', 'PORT_GITOPS_BASE', 'PORT_GITOPS_REVIEWERS', 'PORT_GITOPS_DRY_RUN',
        'PORT_GITOPS_VERIFY_SIGNATURE']

    PipelineHarness h
    Script step
    FakeTool tool = new FakeTool()

    @Before
    void setUp() {
        h = new PipelineHarness()
        step = h.loadVar('portEnrichService')
        h.credentials['port-credentials'] = [username: 'port-client-id', password: 'port-client-secret']
        h.credentials['bitbucket'] = [username: 'bot@acme.example', password: 'atlassian-api-token']
        h.credentials['bitbucket-access'] = 'bitbucket-access-token'
        h.shHandler = tool.handler()
    }

    @After
    void tearDown() {
        h.cleanup()
    }

    Map run(Map config) {
        return (Map) step.call([bitbucketCredentialsId: 'bitbucket'] + config)
    }

    Map toolEnv() {
        assertEquals('port-gitops runs once', 1, tool.runs.size())
        return tool.runs[0].env
    }

    String failure(Map config) {
        return shouldFail(PipelineError) { step.call(config) }.message
    }

    // ---- the result ---------------------------------------------------------------------------

    @Test
    void returnsTheResultFileAsASerializableMap() {
        Map result = run(payload: PAYLOAD)
        assertEquals(tool.result, result)
        assertTrue(result instanceof Serializable && result.pull_request instanceof Serializable)
        assertEquals('SUCCESS', h.currentBuild.currentResult)
        assertEquals('created', h.env.PORT_GITOPS_OUTCOME)
    }

    @Test
    void runsOneConstantScriptWithItsStatusReturned() {
        run(payload: PAYLOAD)
        List<Map> sh = h.callsTo('sh')
        assertEquals(1, sh.size())
        assertTrue(sh[0].args.script.getClass() == String)
        assertEquals(step.TOOL_SCRIPT, sh[0].args.script)
        assertEquals(true, sh[0].args.returnStatus)
    }

    @Test
    void exitFourMarksTheBuildUnstableAndReturnsTheMap() {
        tool.status = 4
        tool.result = tool.result + [exit_code: 4, error: 'Port did not answer after 5 attempts',
                                     port_run: [id: 'r_1', status: 'SUCCESS', reported: false]]
        Map result = run(payload: PAYLOAD)
        assertEquals(tool.result, result)
        assertEquals('UNSTABLE', h.currentBuild.result)
        assertEquals(['portEnrichService: Port did not answer after 5 attempts'], h.stringsGivenTo('unstable'))
    }

    @Test
    void failureUsesTheResultFilesReason() {
        tool.status = 3
        tool.result = [outcome: 'failed', exit_code: 3, error: "lifecycle: 'Prod' is not one of Production, Experimental, Deprecated"]
        tool.stderr = 'port-gitops enrich: error: something else\n'
        assertEquals("portEnrichService: lifecycle: 'Prod' is not one of Production, Experimental, Deprecated (port-gitops exit 3)",
                     failure(payload: PAYLOAD, bitbucketCredentialsId: 'bitbucket'))
        assertEquals('failed', h.env.PORT_GITOPS_OUTCOME)
    }

    @Test
    void failureWithoutResultFileUsesTheLastStderrLine() {
        tool.status = 2
        tool.result = null
        tool.stderr = 'port-gitops: creating the Python environment\nport-gitops: Python >= 3.11 is required\n\n'
        assertEquals('portEnrichService: port-gitops: Python >= 3.11 is required (port-gitops exit 2)',
                     failure(payload: PAYLOAD, bitbucketCredentialsId: 'bitbucket'))
        assertFalse('the tool never finished, so the Port run is still open', h.env.PORT_GITOPS_OUTCOME as boolean)
    }

    @Test
    void failureWithNothingToSayStillNamesTheExitCode() {
        tool.status = 137
        tool.result = null
        assertEquals('portEnrichService: port-gitops wrote no result file (port-gitops exit 137)',
                     failure(payload: PAYLOAD, bitbucketCredentialsId: 'bitbucket'))
    }

    @Test
    void unreadableResultFileFallsBackToStderr() {
        tool.status = 1
        tool.result = null
        tool.stderr = 'port-gitops enrich: error: unexpected KeyError\n'
        h.shHandler = { String script, Map env ->
            Map answer = tool.answer(env)
            new File((String) env.PORT_GITOPS_STEP_DIR, 'result.json').text = '{"outcome": '
            answer
        }
        assertEquals('portEnrichService: port-gitops enrich: error: unexpected KeyError (port-gitops exit 1)',
                     failure(payload: PAYLOAD, bitbucketCredentialsId: 'bitbucket'))
    }

    @Test
    void successWithoutResultFileIsAnError() {
        tool.result = null
        assertEquals('portEnrichService: port-gitops wrote no result file (port-gitops exit 0)',
                     failure(payload: PAYLOAD, bitbucketCredentialsId: 'bitbucket'))
    }

    // ---- values: payload file, never arguments ------------------------------------------------------

    @Test
    void payloadIsWrittenByteForByteAsUtf8() {
        String raw = '{"port_context": {"entity": "caf\u00e9-\u6f22\u5b57", "runId": "r_1"},\n  "domain": "x" }'
        run(payload: raw)
        assertEquals(raw, tool.runs[0].payload)
        Map write = h.callsTo('writeFile').find { it.args.file.endsWith('/payload.json') }
        assertEquals('UTF-8', write.args.encoding)
        assertTrue(write.args.file.startsWith("${h.workspace.path}@tmp/".toString()))
    }

    @Test
    void individualValuesBecomeTheBodyPortSends() {
        run(VALUES)
        assertEquals([port_context: [entity: 'payments', repo_url: 'https://bitbucket.org/acme/payments', runId: 'r_1'],
                      domain: 'billing', type: 'backend', lifecycle: 'Production'],
                     new JsonSlurperClassic().parseText(tool.runs[0].payload))
    }

    @Test
    void anActionAndItsValuesBecomeTheBodyPortSendsForIt() {
        Map values = [owners: ['platform', 'sre'], tier: 'gold', onCall: true, sloTarget: 99.9, runbook: null]
        run(action: 'set_ownership', entity: 'payments', repoUrl: 'https://bitbucket.org/acme/payments', runId: 'r_1',
            values: values)
        assertEquals([port_context: [entity: 'payments', repo_url: 'https://bitbucket.org/acme/payments', runId: 'r_1',
                                     action: 'set_ownership'],
                      owners: ['platform', 'sre'], tier: 'gold', onCall: true, sloTarget: 99.9, runbook: null],
                     new JsonSlurperClassic().parseText(tool.runs[0].payload))
        assertEquals('set_ownership', toolEnv().PORT_GITOPS_ACTION)
    }

    @Test
    void anActionPinsThePayloadToo() {
        run(payload: PAYLOAD, action: 'service_enrich_service')
        assertEquals('service_enrich_service', toolEnv().PORT_GITOPS_ACTION)
    }

    @Test
    void valuesAreCheckedBeforeAnythingRuns() {
        Map base = [bitbucketCredentialsId: 'bitbucket', entity: 'payments', repoUrl: 'https://bitbucket.org/acme/payments']
        assertTrue(failure(base + [values: 'tier=gold']).contains("'values' must be a Map of the action's inputs"))
        assertTrue(failure(base + [values: [port_context: [:]]]).contains("'values' keys must be input names"))
        assertTrue(failure(base + [values: [tier: 'gold'], payload: PAYLOAD]).contains('not both'))
        assertTrue(failure([bitbucketCredentialsId: 'bitbucket', action: 'set_ownership', values: [tier: 'gold']])
            .contains("missing required parameter 'entity'"))
        assertEquals(0, tool.runs.size())
    }

    @Test
    void theStepAliasIsTheSameStep() {
        Script alias = h.loadVar('portGitopsAction')
        Map result = (Map) alias.call([bitbucketCredentialsId: 'bitbucket', payload: PAYLOAD])
        assertEquals(tool.result, result)
        assertEquals(PAYLOAD, tool.runs[0].payload)
    }

    @Test
    void runIdIsOptionalForIndividualValues() {
        run(VALUES.findAll { it.key != 'runId' })
        assertFalse(new JsonSlurperClassic().parseText(tool.runs[0].payload).port_context.containsKey('runId'))
    }

    @Test
    void payloadValuesNeverReachTheEnvironmentOrTheScript() {
        run(VALUES)
        List<String> envEntries = h.callsTo('withEnv').collectMany { it.args.env }
        VALUES.values().each { String value ->
            assertFalse(value, envEntries.any { it.contains(value) })
            assertFalse(value, h.callsTo('sh')[0].args.script.contains(value))
        }
    }

    // ---- settings -----------------------------------------------------------------------------------

    @Test
    void everySettingBecomesItsToolVariable() {
        run(payload: PAYLOAD, bitbucketKind: 'datacenter', bitbucketUrl: 'https://bb.acme.example',
            bitbucketWebUrl: 'https://git.acme.example', workspace: 'acme', project: 'PAY',
            portBaseUrl: 'https://api.us.getport.io', mapping: 'ci/trigger.yml', template: 'ci/port.yml.tmpl',
            blueprints: 'ci/blueprints.json', path: '.port/port.yml', branch: 'port/custom', base: 'develop',
            reviewers: ['alice', 'bob'], dryRun: true, verifySignature: true)
        assertEquals([BITBUCKET_KIND: 'datacenter', BITBUCKET_URL: 'https://bb.acme.example',
                      BITBUCKET_WEB_URL: 'https://git.acme.example', BITBUCKET_WORKSPACE: 'acme', BITBUCKET_PROJECT: 'PAY',
                      PORT_BASE_URL: 'https://api.us.getport.io', PORT_GITOPS_TRIGGER: 'ci/trigger.yml',
                      PORT_GITOPS_TEMPLATE: 'ci/port.yml.tmpl', PORT_GITOPS_BLUEPRINTS: 'ci/blueprints.json',
                      PORT_GITOPS_PATH: '.port/port.yml', PORT_GITOPS_BRANCH: 'port/custom', PORT_GITOPS_BASE: 'develop',
                      PORT_GITOPS_REVIEWERS: 'alice,bob', PORT_GITOPS_DRY_RUN: 'true', PORT_GITOPS_VERIFY_SIGNATURE: 'true'],
                     toolEnv().subMap(TOOL_VARIABLES))
    }

    @Test
    void stringFormsOfReviewersAndSwitchesAreAccepted() {
        run(payload: PAYLOAD, reviewers: 'alice,bob', dryRun: 'false', verifySignature: 'true')
        assertEquals([PORT_GITOPS_REVIEWERS: 'alice,bob', PORT_GITOPS_DRY_RUN: 'false', PORT_GITOPS_VERIFY_SIGNATURE: 'true'],
                     toolEnv().subMap(['PORT_GITOPS_REVIEWERS', 'PORT_GITOPS_DRY_RUN', 'PORT_GITOPS_VERIFY_SIGNATURE']))
    }

    @Test
    void unsetSettingsLeaveTheAgentsEnvironmentInCharge() {
        h.env.BITBUCKET_WORKSPACE = 'acme-from-global-properties'
        run(payload: PAYLOAD)
        Map seen = toolEnv()
        assertEquals('acme-from-global-properties', seen.BITBUCKET_WORKSPACE)
        assertEquals([], TOOL_VARIABLES.findAll { it != 'BITBUCKET_WORKSPACE' && seen.containsKey(it) })
    }

    // ---- credentials --------------------------------------------------------------------------------

    @Test
    void portAndBitbucketUsernamePasswordCredentialsAreBoundOnlyForTheTool() {
        run(payload: PAYLOAD)
        assertEquals([PORT_CLIENT_ID: 'port-client-id', PORT_CLIENT_SECRET: 'port-client-secret',
                      BITBUCKET_USERNAME: 'bot@acme.example', BITBUCKET_TOKEN: 'atlassian-api-token'],
                     toolEnv().subMap(['PORT_CLIENT_ID', 'PORT_CLIENT_SECRET', 'BITBUCKET_USERNAME', 'BITBUCKET_TOKEN']))
        assertFalse(toolEnv().containsKey('BITBUCKET_ACCESS_TOKEN'))
        assertEquals([], h.env.keySet().findAll { it.startsWith('PORT_CLIENT') || it.startsWith('BITBUCKET') } as List)
        Map bindings = h.callsTo('withCredentials')[0].args
        assertEquals(['port-credentials', 'bitbucket'], bindings.bindings*.credentialsId)
    }

    @Test
    void bitbucketSecretTextCredentialIsABearerToken() {
        step.call(payload: PAYLOAD, bitbucketTokenCredentialsId: 'bitbucket-access')
        assertEquals('bitbucket-access-token', toolEnv().BITBUCKET_ACCESS_TOKEN)
        assertFalse(toolEnv().containsKey('BITBUCKET_USERNAME') || toolEnv().containsKey('BITBUCKET_TOKEN'))
    }

    @Test
    void portCredentialsIdCanBeChosen() {
        h.credentials['port-eu'] = [username: 'eu-client', password: 'eu-secret-value']
        run(payload: PAYLOAD, portCredentialsId: 'port-eu')
        assertEquals('eu-client', toolEnv().PORT_CLIENT_ID)
    }

    @Test
    void missingCredentialsFailAsInJenkins() {
        assertEquals("Could not find credentials entry with ID 'nope'",
                     failure(payload: PAYLOAD, bitbucketCredentialsId: 'bitbucket', portCredentialsId: 'nope'))
        assertEquals([], h.callsTo('sh'))
    }

    @Test
    void aCredentialOfTheWrongKindIsReported() {
        assertTrue(failure(payload: PAYLOAD, bitbucketTokenCredentialsId: 'bitbucket').contains("'Username with password'"))
    }

    // ---- GitHub and GitLab ------------------------------------------------------------------------

    @Test
    void githubSecretTextIsTheToken() {
        h.credentials['github-token'] = 'ghp_personal-access-token'
        step.call(payload: PAYLOAD, scm: 'github', githubCredentialsId: 'github-token', owner: 'acme')
        assertEquals([PORT_GITOPS_SCM: 'github', GITHUB_TOKEN: 'ghp_personal-access-token', GITHUB_OWNER: 'acme',
                      PORT_CLIENT_ID: 'port-client-id'],
                     toolEnv().subMap(['PORT_GITOPS_SCM', 'GITHUB_TOKEN', 'GITHUB_OWNER', 'PORT_CLIENT_ID']))
        assertEquals([], toolEnv().keySet().findAll { it.startsWith('BITBUCKET') || it.startsWith('GITLAB') } as List)
        assertEquals([['port-credentials', 'github-token']], h.callsTo('withCredentials')*.args*.bindings*.credentialsId)
    }

    @Test
    void githubAppCredentialGivesItsInstallationTokenAsTheToken() {
        // Jenkins' GitHub App credential binds as username (the app id) / password (an installation token).
        h.credentials['github-app'] = [username: '123456', password: 'ghs_installation-token']
        step.call(payload: PAYLOAD, scm: 'github', githubCredentialsId: 'github-app')
        assertEquals('ghs_installation-token', toolEnv().GITHUB_TOKEN)
        assertEquals(['string', 'usernamePassword'], h.callsTo('withCredentials')*.args*.bindings*.getAt(1)*.kind)
        assertEquals(1, h.callsTo('sh').size())
        assertFalse(toolEnv().containsKey('GITHUB_APP_PRIVATE_KEY'))
    }

    @Test
    void aMissingGithubCredentialIsReportedAsJenkinsDoes() {
        assertEquals("Could not find credentials entry with ID 'nope'",
                     failure(payload: PAYLOAD, scm: 'github', githubCredentialsId: 'nope'))
        assertEquals([], h.callsTo('sh'))
    }

    @Test
    void aToolFailureInsideTheBindingIsNeverRetriedWithTheOtherKind() {
        h.credentials['github-token'] = 'ghp_personal-access-token'
        h.shHandler = { String script, Map env -> throw new PipelineError('agent went offline') }
        assertEquals('agent went offline', failure(payload: PAYLOAD, scm: 'github', githubCredentialsId: 'github-token'))
        assertEquals(1, h.callsTo('sh').size())
    }

    @Test
    void gitlabSecretTextIsTheToken() {
        h.credentials['gitlab-token'] = 'glpat-group-access-token'
        step.call(payload: PAYLOAD, scm: 'gitlab', gitlabCredentialsId: 'gitlab-token', group: 'acme/platform',
                  gitlabUrl: 'https://gitlab.acme.example/gitlab')
        assertEquals([PORT_GITOPS_SCM: 'gitlab', GITLAB_TOKEN: 'glpat-group-access-token', GITLAB_GROUP: 'acme/platform',
                      GITLAB_URL: 'https://gitlab.acme.example/gitlab'],
                     toolEnv().subMap(['PORT_GITOPS_SCM', 'GITLAB_TOKEN', 'GITLAB_GROUP', 'GITLAB_URL']))
        assertEquals([], toolEnv().keySet().findAll { it.startsWith('BITBUCKET') || it.startsWith('GITHUB') } as List)
    }

    @Test
    void theAgentsScmChoosesTheCredentialsWhenTheStepNamesNone() {
        h.env.PORT_GITOPS_SCM = 'gitlab'
        h.credentials['gitlab-token'] = 'glpat-group-access-token'
        step.call(payload: PAYLOAD, gitlabCredentialsId: 'gitlab-token')
        assertEquals(['gitlab', 'glpat-group-access-token'], [toolEnv().PORT_GITOPS_SCM, toolEnv().GITLAB_TOKEN])
    }

    @Test
    void labelsDraftAndGithubUrlsBecomeToolVariables() {
        h.credentials['github-token'] = 'ghp_personal-access-token'
        step.call(payload: PAYLOAD, scm: 'github', githubCredentialsId: 'github-token', labels: ['port', 'catalog'],
                  draft: true, githubApiUrl: 'https://ghe.acme.example/api/v3', githubWebUrl: 'https://ghe.acme.example')
        assertEquals([PORT_GITOPS_LABELS: 'port,catalog', PORT_GITOPS_DRAFT: 'true',
                      GITHUB_API_URL: 'https://ghe.acme.example/api/v3', GITHUB_WEB_URL: 'https://ghe.acme.example'],
                     toolEnv().subMap(['PORT_GITOPS_LABELS', 'PORT_GITOPS_DRAFT', 'GITHUB_API_URL', 'GITHUB_WEB_URL']))
    }

    @Test
    void stringFormsOfLabelsAndDraftAreAccepted() {
        run(payload: PAYLOAD, scm: 'bitbucket-datacenter', labels: 'port,catalog', draft: 'false')
        assertEquals([PORT_GITOPS_SCM: 'bitbucket-datacenter', PORT_GITOPS_LABELS: 'port,catalog', PORT_GITOPS_DRAFT: 'false'],
                     toolEnv().subMap(['PORT_GITOPS_SCM', 'PORT_GITOPS_LABELS', 'PORT_GITOPS_DRAFT']))
    }

    @Test
    void exactlyTheCredentialsOfTheChosenScm() {
        Map<String, Map> cases = [
            "'bitbucketCredentialsId' does not apply to scm 'github' (it takes 'githubCredentialsId')":
                [payload: PAYLOAD, scm: 'github', bitbucketCredentialsId: 'bitbucket'],
            ("'githubCredentialsId' does not apply to scm 'bitbucket-cloud' (it takes 'bitbucketCredentialsId' or " +
                "'bitbucketTokenCredentialsId')"): [payload: PAYLOAD, githubCredentialsId: 'github-token'],
            "'gitlabCredentialsId' does not apply to scm 'github'":
                [payload: PAYLOAD, scm: 'github', githubCredentialsId: 'github-token', gitlabCredentialsId: 'gitlab-token'],
            "'githubCredentialsId' does not apply to scm 'gitlab' (it takes 'gitlabCredentialsId')":
                [payload: PAYLOAD, scm: 'gitlab', githubCredentialsId: 'github-token'],
            ("missing required parameter 'githubCredentialsId' (secret text token, or the username/password credential of " +
                'a GitHub App)'): [payload: PAYLOAD, scm: 'github'],
            "missing required parameter 'gitlabCredentialsId' (secret text)": [payload: PAYLOAD, scm: 'gitlab'],
            "'scm' must be one of bitbucket-cloud, bitbucket-datacenter, github, gitlab, not 'svn'":
                [payload: PAYLOAD, scm: 'svn', bitbucketCredentialsId: 'bitbucket'],
            "'bitbucketKind: cloud' contradicts 'scm: github'; give only 'scm'":
                [payload: PAYLOAD, scm: 'github', bitbucketKind: 'cloud', githubCredentialsId: 'github-token'],
            "'labels' must be a list of names or a comma-separated String":
                [payload: PAYLOAD, labels: [1], bitbucketCredentialsId: 'bitbucket'],
            "'draft' must be true or false, not 'maybe'": [payload: PAYLOAD, draft: 'maybe', bitbucketCredentialsId: 'bitbucket'],
            "'scm' must be a String, not Integer": [payload: PAYLOAD, scm: 1, bitbucketCredentialsId: 'bitbucket'],
        ]
        cases.each { String expected, Map config ->
            String message = failure(config)
            assertTrue("${config} gave: ${message}", message.startsWith("portEnrichService: ${expected}"))
        }
        h.env.PORT_GITOPS_SCM = 'github'
        assertEquals("portEnrichService: missing required parameter 'githubCredentialsId' (secret text token, or the " +
                     'username/password credential of a GitHub App)', failure(payload: PAYLOAD))
        h.env.PORT_GITOPS_SCM = 'hg'
        assertTrue(failure(payload: PAYLOAD).startsWith("portEnrichService: 'scm (from PORT_GITOPS_SCM)' must be one of"))
        assertEquals([], h.callsTo('sh') + h.callsTo('writeFile') + h.callsTo('withCredentials'))
    }

    // ---- shipping the tool ----------------------------------------------------------------------------

    @Test
    void shipsTheToolItsLockAndBootstrapUnchanged() {
        run(payload: PAYLOAD)
        assertEquals([['io/port/gitops/port-gitops.pyz', 'Base64'], ['io/port/gitops/requirements.lock', 'UTF-8'],
                      ['io/port/gitops/venv-bootstrap.sh', 'UTF-8']],
                     h.callsTo('libraryResource').collect { [it.args.resource, it.args.encoding] })
        File dir = new File((String) toolEnv().PORT_GITOPS_STEP_DIR)
        ['port-gitops.pyz', 'requirements.lock', 'venv-bootstrap.sh'].each { String name ->
            assertTrue(name, new File(PipelineHarness.REPO, "resources/io/port/gitops/${name}").bytes == new File(dir, name).bytes)
        }
        assertEquals('python3', toolEnv().PORT_GITOPS_STEP_PYTHON)
        assertFalse(toolEnv().containsKey('PORT_GITOPS_STEP_COMMAND'))
    }

    @Test
    void pythonChoosesTheInterpreterForTheEnvironment() {
        run(payload: PAYLOAD, python: '/opt/python3.12/bin/python3')
        assertEquals('/opt/python3.12/bin/python3', toolEnv().PORT_GITOPS_STEP_PYTHON)
    }

    @Test
    void aPreinstalledCommandSkipsShipping() {
        run(payload: PAYLOAD, command: '/opt/port-gitops/bin/port-gitops')
        assertEquals([], h.callsTo('libraryResource'))
        assertEquals(['payload.json'], h.callsTo('writeFile').collect { new File((String) it.args.file).name })
        assertEquals('/opt/port-gitops/bin/port-gitops', toolEnv().PORT_GITOPS_STEP_COMMAND)
    }

    // ---- validation ---------------------------------------------------------------------------------

    @Test
    void validationErrorsNameTheParameterAndRunNothing() {
        Map<String, Map> cases = [
            "unknown parameter 'workspce'": [payload: PAYLOAD, workspce: 'acme', bitbucketCredentialsId: 'bitbucket'],
            "missing required parameter 'payload'": [bitbucketCredentialsId: 'bitbucket'],
            "missing required parameter 'lifecycle'": VALUES.findAll { it.key != 'lifecycle' } + [bitbucketCredentialsId: 'bitbucket'],
            "give either 'payload' or the individual values, not both (got 'payload' and 'entity')":
                [payload: PAYLOAD, entity: 'x', bitbucketCredentialsId: 'bitbucket'],
            "give 'bitbucketCredentialsId' or 'bitbucketTokenCredentialsId', not both":
                [payload: PAYLOAD, bitbucketCredentialsId: 'bitbucket', bitbucketTokenCredentialsId: 'bitbucket-access'],
            "missing required parameter 'bitbucketCredentialsId' (username/password) or 'bitbucketTokenCredentialsId'":
                [payload: PAYLOAD],
            "'bitbucketKind' must be 'cloud' or 'datacenter', not 'server'":
                [payload: PAYLOAD, bitbucketKind: 'server', bitbucketCredentialsId: 'bitbucket'],
            "'dryRun' must be true or false, not 'yes'": [payload: PAYLOAD, dryRun: 'yes', bitbucketCredentialsId: 'bitbucket'],
            "'verifySignature' must be true or false, not Integer":
                [payload: PAYLOAD, verifySignature: 1, bitbucketCredentialsId: 'bitbucket'],
            "'reviewers' must be a list of names": [payload: PAYLOAD, reviewers: [1], bitbucketCredentialsId: 'bitbucket'],
            "'workspace' must be a String, not Integer": [payload: PAYLOAD, workspace: 5, bitbucketCredentialsId: 'bitbucket'],
            "'payload' must be a String, not LinkedHashMap": [payload: [a: 1], bitbucketCredentialsId: 'bitbucket'],
            "give 'python' (to build the shipped tool's environment) or 'command'":
                [payload: PAYLOAD, python: 'python3', command: 'port-gitops', bitbucketCredentialsId: 'bitbucket'],
            "'verifySignature' needs the raw 'payload'": VALUES + [verifySignature: true, bitbucketCredentialsId: 'bitbucket'],
            "'mapping' needs the raw 'payload'": VALUES + [mapping: 'trigger.yml', bitbucketCredentialsId: 'bitbucket'],
        ]
        cases.each { String expected, Map config ->
            String message = failure(config)
            assertTrue("${config} gave: ${message}", message.startsWith("portEnrichService: ${expected}"))
        }
        assertEquals([], h.callsTo('sh') + h.callsTo('writeFile') + h.callsTo('withCredentials'))
    }

    @Test
    void emptyValuesCountAsMissing() {
        assertTrue(failure(payload: '', bitbucketCredentialsId: 'bitbucket').contains("missing required parameter 'payload'"))
        assertTrue(failure(VALUES + [domain: '', bitbucketCredentialsId: 'bitbucket']).contains("parameter 'domain'"))
    }

    @Test
    void falseSignatureCheckIsFineWithIndividualValues() {
        run(VALUES + [verifySignature: false])
        assertEquals('false', toolEnv().PORT_GITOPS_VERIFY_SIGNATURE)
    }

    // ---- reportFailure ------------------------------------------------------------------------------

    @Test
    void reportFailureClosesTheRunWhenTheToolNeverFinished() {
        boolean closed = step.reportFailure(runId: 'r_9', message: 'build aborted', portBaseUrl: 'https://api.us.getport.io')
        assertTrue(closed)
        Map seen = toolEnv()
        assertEquals([PORT_GITOPS_STEP_ACTION: 'report', PORT_GITOPS_STEP_RUN_ID: 'r_9', PORT_GITOPS_STEP_MESSAGE: 'build aborted',
                      PORT_BASE_URL: 'https://api.us.getport.io', PORT_CLIENT_SECRET: 'port-client-secret'],
                     seen.subMap(['PORT_GITOPS_STEP_ACTION', 'PORT_GITOPS_STEP_RUN_ID', 'PORT_GITOPS_STEP_MESSAGE', 'PORT_BASE_URL',
                                  'PORT_CLIENT_SECRET']))
        assertEquals([], seen.keySet().findAll { it.startsWith('BITBUCKET') } as List)
        assertEquals(step.TOOL_SCRIPT, h.callsTo('sh')[0].args.script)
    }

    @Test
    void reportFailureHasADefaultMessage() {
        h.currentBuild.currentResult = 'FAILURE'
        step.reportFailure(runId: 'r_9')
        assertEquals('The Jenkins build ended (FAILURE) before port-gitops could report', toolEnv().PORT_GITOPS_STEP_MESSAGE)
    }

    @Test
    void reportFailureLeavesARunTheToolHandled() {
        tool.status = 5
        tool.result = [outcome: 'failed', exit_code: 5, error: 'webhook signature does not match']
        failure(payload: PAYLOAD, bitbucketCredentialsId: 'bitbucket')
        assertFalse(step.reportFailure(runId: 'r_1'))
        assertEquals(1, h.callsTo('sh').size())
        assertTrue(h.log.toString().contains('port-gitops finished (outcome failed) and handled the Port run itself'))
    }

    @Test
    void reportFailureFollowsTheLatestEnrichment() {
        run(payload: PAYLOAD)
        tool.status = 2
        tool.result = null
        failure(payload: PAYLOAD, bitbucketCredentialsId: 'bitbucket')
        tool.status = 0
        assertTrue(step.reportFailure(runId: 'r_1'))
        assertEquals(['enrich', 'enrich', 'report'], tool.runs*.env*.PORT_GITOPS_STEP_ACTION)
    }

    @Test
    void reportFailureWithoutRunIdDoesNothing() {
        assertFalse(step.reportFailure(runId: null))
        assertEquals([], h.callsTo('sh'))
    }

    @Test
    void reportFailureNeverFailsTheBuildAgain() {
        tool.status = 2
        tool.result = null
        assertFalse(step.reportFailure(runId: 'r_9'))
        assertTrue(h.log.toString().contains('port-gitops report exited 2'))
    }

    @Test
    void reportFailureRejectsUnknownParameters() {
        assertEquals("portEnrichService.reportFailure: unknown parameter 'workspace' (known: command, message, portBaseUrl, " +
                     'portCredentialsId, python, runId, verifySignature)',
                     shouldFail(PipelineError) { step.reportFailure(workspace: 'x') }.message)
        assertEquals("portEnrichService.reportFailure: 'verifySignature' must be true or false, not 'yes'",
                     shouldFail(PipelineError) { step.reportFailure(runId: 'r_1', verifySignature: 'yes') }.message)
    }

    // ---- reportFailure with verifySignature: only a run id the tool verified (issue 12 C.1) ----------

    /** The enrichment died (killed, timed out) after writing `result`, e.g. the file it keeps while running. */
    void enrichmentDied(Map result) {
        tool.status = 137
        tool.result = result
        failure(payload: PAYLOAD, bitbucketCredentialsId: 'bitbucket')
        tool.status = 0
        tool.result = null
    }

    @Test
    void aRunningResultIsNotAFinishedTool() {
        tool.stderr = 'Killed\n'
        enrichmentDied([outcome: 'running', exit_code: null, port_run: [id: 'r_1', verified: true]])
        assertEquals('', h.env.PORT_GITOPS_OUTCOME)
        assertTrue(h.log.toString().contains('port-gitops exit 137'))
    }

    @Test
    void reportFailureClosesARunIdTheToolVerified() {
        enrichmentDied([outcome: 'running', exit_code: null, port_run: [id: 'r_1', verified: true]])
        assertTrue(step.reportFailure(runId: 'r_1', verifySignature: true))
        assertEquals(['enrich', 'report'], tool.runs*.env*.PORT_GITOPS_STEP_ACTION)
        assertEquals('r_1', tool.runs[1].env.PORT_GITOPS_STEP_RUN_ID)
    }

    @Test
    void reportFailureLeavesAnUnverifiedRunIdAlone() {
        [
            null,  // the tool died before it could say anything
            [outcome: 'running', exit_code: null, port_run: [id: 'r_1', verified: false]],  // verification was off
            [outcome: 'running', exit_code: null, port_run: [id: 'r_other', verified: true]],  // another request's id
            [outcome: 'running', exit_code: null, port_run: [id: 'r_1', verified: 'true']],  // not the tool's boolean
        ].eachWithIndex { Map result, int i ->
            enrichmentDied(result)
            assertFalse("${result}", step.reportFailure(runId: 'r_1', verifySignature: true))
            assertEquals(i + 1, h.log.toString().count('port-gitops never verified the webhook signature'))
        }
        assertEquals(['enrich'] * 4, tool.runs*.env*.PORT_GITOPS_STEP_ACTION)
    }

    @Test
    void reportFailureWithoutVerificationClosesTheNamedRun() {
        enrichmentDied(null)
        assertTrue(step.reportFailure(runId: 'r_1', verifySignature: false))
        assertEquals(['enrich', 'report'], tool.runs*.env*.PORT_GITOPS_STEP_ACTION)
    }
}
