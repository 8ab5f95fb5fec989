import org.codehaus.groovy.control.CompilerConfiguration
import org.codehaus.groovy.control.customizers.ImportCustomizer
import org.codehaus.groovy.runtime.InvokerHelper

/**
 * A small JenkinsPipelineUnit-style harness on plain Groovy 2.4 (the version Jenkins embeds).
 *
 * It loads `vars/*.groovy` (and a Jenkinsfile) into one Binding, stubs the pipeline steps they use,
 * records every step call in `calls`, and keeps the stubs strict: unknown named arguments, a GString
 * given to `sh`, or a bound secret appearing in `sh`/`echo`/`error`/`unstable` fail the test. `sh` is
 * answered by `shHandler`, or really executed by `sh -xe -c` when `realShell` is set.
 */
class PipelineHarness {
    static final File REPO = locateRepo()
    private static final Map<String, Class> COMPILED = [:].asSynchronized()

    final Binding binding = new Binding()
    /** Every step call in order: [name: 'sh', args: [script: ..., returnStatus: true]]. */
    final List<Map> calls = []
    /** The console log: echo, unstable, error and real `sh` output. */
    final StringBuilder log = new StringBuilder()
    /** The build environment (env.X); withEnv and withCredentials change it for their body. */
    final Map<String, String> env = [:]
    /** Jenkins credentials by id: a String (secret text) or [username: ..., password: ...]. */
    final Map<String, Object> credentials = [:]
    final Map<String, Object> currentBuild = [result: null, currentResult: 'SUCCESS']
    /** The agent's own environment, under the build environment, for real `sh`. */
    final Map<String, String> agentEnv = [PATH: System.getenv('PATH'), LANG: 'C.UTF-8']
    final File workspace
    /** (String script, Map env) -> [status: int, stdout: String]; env is a copy of what `sh` would see. */
    Closure shHandler = { String script, Map shEnv -> [status: 0, stdout: ''] }
    boolean realShell = false

    private final List<String> secrets = []
    private final GroovyShell shell

    PipelineHarness(File workspace = File.createTempDir('pipeline-ws', '')) {
        this.workspace = workspace
        agentEnv.HOME = new File(workspace.parentFile, "${workspace.name}@home").path
        CompilerConfiguration config = new CompilerConfiguration()
        config.scriptBaseClass = PipelineScript.name
        config.addCompilationCustomizers(jenkinsImports())
        shell = new GroovyShell(getClass().classLoader, binding, config)
        binding.setVariable('env', env)
        binding.setVariable('currentBuild', currentBuild)
        registerSteps()
    }

    /** The imports Jenkins adds to every pipeline script (workflow-cps, pipeline-groovy-lib). */
    static ImportCustomizer jenkinsImports() {
        ImportCustomizer imports = new ImportCustomizer()
        imports.addStarImports('com.cloudbees.groovy.cps')
        imports.addImports('org.jenkinsci.plugins.workflow.libs.Library')
        return imports
    }

    /** Load `vars/<name>.groovy` as the global variable `name`. */
    Script loadVar(String name) {
        Script script = load(new File(REPO, "vars/${name}.groovy"))
        binding.setVariable(name, script)
        return script
    }

    /** A fresh instance bound to this harness; each file is compiled once per JVM. */
    private Script load(File source) {
        Class compiled = COMPILED[source.canonicalPath] ?: (COMPILED[source.canonicalPath] = shell.parse(source).getClass())
        return InvokerHelper.createScript(compiled, binding)
    }

    void loadAllVars() {
        new File(REPO, 'vars').listFiles().findAll { it.name.endsWith('.groovy') }.sort { it.name }.each {
            loadVar(it.name - '.groovy')
        }
    }

    /** Parse and run a whole pipeline script (e.g. the Jenkinsfile); `pipeline {}` runs via DeclarativePipeline. */
    Object runScript(File file) {
        return load(file).run()
    }

    /** Remove the workspace and its @tmp and @home siblings. */
    void cleanup() {
        ['', '@tmp', '@home'].each { new File(workspace.parentFile, workspace.name + it).deleteDir() }
    }

    List<Map> callsTo(String name) {
        return calls.findAll { it.name == name }
    }

    /** Every String argument given to steps called `name` (flattened), for "contains" assertions. */
    List<String> stringsGivenTo(String name) {
        return callsTo(name).collectMany { Map call -> call.args.values().findAll { it instanceof CharSequence }*.toString() }
    }

    File file(String path) {
        File f = new File(path)
        return f.absolute ? f : new File(workspace, path)
    }

    void setResult(String result) {
        List<String> order = ['SUCCESS', 'UNSTABLE', 'FAILURE', 'NOT_BUILT', 'ABORTED']
        String worst = [currentBuild.currentResult, result].max { order.indexOf(it) }
        currentBuild.result = worst
        currentBuild.currentResult = worst
    }

    private static File locateRepo() {
        String given = System.getenv('PORT_GITOPS_REPO')
        File repo = given ? new File(given) : new File('../..').canonicalFile
        if (!new File(repo, 'vars').isDirectory()) {
            throw new IllegalStateException("no vars/ in ${repo}: run from tests/groovy or set PORT_GITOPS_REPO")
        }
        return repo.canonicalFile
    }

    // ---- step stubs ----------------------------------------------------------------------------

    private void step(String name, Closure body) {
        binding.setVariable(name) { Object... args ->
            Map recorded = [name: name, args: [:]]
            calls << recorded
            return body.call(recorded, args as List)
        }
    }

    /** Named arguments of a step, or its single positional one under `positional`; unknown keys fail. */
    private static Map named(String step, List args, String positional, List<String> allowed) {
        Map given = args && args[0] instanceof Map ? (Map) args[0] : (args ? [(positional): args[0]] : [:])
        Object unknown = given.keySet().find { !(it in allowed) }
        if (unknown != null) {
            fail("step ${step}: unknown parameter '${unknown}' (Jenkins would reject it)")
        }
        return given
    }

    /** A JUnit failure (AssertionError(String) is private: Groovy would pick it for a GString). */
    static void fail(String message) {
        throw new AssertionError((Object) message)
    }

    private void checkNoSecret(String step, Object text) {
        // Values shorter than 4 characters would match by chance (Jenkins does not mask them reliably either).
        String found = secrets.find { it.length() >= 4 && text?.toString()?.contains(it) }
        if (found != null) {
            fail("a bound secret reached '${step}' (Groovy String interpolation of a secret)")
        }
    }

    private void registerSteps() {
        step('sh') { Map rec, List args ->
            Map opts = named('sh', args, 'script', ['script', 'returnStatus', 'returnStdout', 'label', 'encoding'])
            rec.args = new LinkedHashMap(opts)
            if (opts.script instanceof GString) {
                fail('sh got a GString: scripts must be constant single-quoted strings')
            }
            checkNoSecret('sh', opts.script)
            Map outcome = realShell ? runShell((String) opts.script) : shHandler.call((String) opts.script, shellEnv())
            int status = outcome.status as int
            if (opts.returnStatus) {
                return status
            }
            if (status != 0) {
                throw new PipelineError("script returned exit code ${status}")
            }
            return opts.returnStdout ? outcome.stdout : null
        }
        step('echo') { Map rec, List args ->
            rec.args = named('echo', args, 'message', ['message'])
            checkNoSecret('echo', rec.args.message)
            log << rec.args.message << '\n'
            return null
        }
        step('error') { Map rec, List args ->
            rec.args = named('error', args, 'message', ['message'])
            checkNoSecret('error', rec.args.message)
            log << 'ERROR: ' << rec.args.message << '\n'
            throw new PipelineError(rec.args.message.toString())
        }
        step('unstable') { Map rec, List args ->
            rec.args = named('unstable', args, 'message', ['message'])
            checkNoSecret('unstable', rec.args.message)
            log << 'WARNING: ' << rec.args.message << '\n'
            setResult('UNSTABLE')
            return null
        }
        step('pwd') { Map rec, List args ->
            rec.args = named('pwd', args, 'tmp', ['tmp'])
            return rec.args.tmp ? "${workspace.path}@tmp".toString() : workspace.path
        }
        step('fileExists') { Map rec, List args ->
            rec.args = named('fileExists', args, 'file', ['file'])
            return file(rec.args.file.toString()).exists()
        }
        step('writeFile') { Map rec, List args ->
            Map opts = named('writeFile', args, 'file', ['file', 'text', 'encoding'])
            rec.args = opts
            File target = file(opts.file.toString())
            target.parentFile.mkdirs()
            target.bytes = opts.encoding == 'Base64' ? opts.text.toString().decodeBase64() :
                opts.text.toString().getBytes((String) (opts.encoding ?: 'UTF-8'))
            return null
        }
        step('readFile') { Map rec, List args ->
            Map opts = named('readFile', args, 'file', ['file', 'encoding'])
            rec.args = opts
            File source = file(opts.file.toString())
            if (!source.exists()) {
                throw new PipelineError("java.nio.file.NoSuchFileException: ${source}")
            }
            return opts.encoding == 'Base64' ? source.bytes.encodeBase64().toString() :
                new String(source.bytes, (String) (opts.encoding ?: 'UTF-8'))
        }
        step('libraryResource') { Map rec, List args ->
            Map opts = named('libraryResource', args, 'resource', ['resource', 'encoding'])
            rec.args = opts
            File source = new File(REPO, "resources/${opts.resource}")
            if (!source.isFile()) {
                throw new PipelineError("No such library resource ${opts.resource} could be found.")
            }
            // Like ResourceStep: exactly "Base64" encodes; anything else decodes with that charset.
            return opts.encoding == 'Base64' ? source.bytes.encodeBase64().toString() :
                new String(source.bytes, (String) (opts.encoding ?: 'UTF-8'))
        }
        step('usernamePassword') { Map rec, List args ->
            rec.args = named('usernamePassword', args, null, ['credentialsId', 'usernameVariable', 'passwordVariable'])
            requireAll('usernamePassword', rec.args, ['credentialsId', 'usernameVariable', 'passwordVariable'])
            return [kind: 'usernamePassword'] + rec.args
        }
        step('string') { Map rec, List args ->
            rec.args = named('string', args, null, ['credentialsId', 'variable'])
            requireAll('string', rec.args, ['credentialsId', 'variable'])
            return [kind: 'string'] + rec.args
        }
        step('withCredentials') { Map rec, List args ->
            List bindings = (List) args[0]
            rec.args = [bindings: bindings]
            Map<String, String> bound = [:]
            bindings.each { Map b -> bound.putAll(resolveCredential(b)) }
            List<String> added = bound.values().findAll { !(it in secrets) } as List<String>
            secrets.addAll(added)
            try {
                return withVariables(bound, (Closure) args[1])
            } finally {
                secrets.removeAll(added)
            }
        }
        step('withEnv') { Map rec, List args ->
            List<String> pairs = ((List) args[0])*.toString()
            rec.args = [env: pairs]
            return withVariables(pairs.collectEntries { String kv ->
                int eq = kv.indexOf('=')
                [(kv.substring(0, eq)): kv.substring(eq + 1)]
            }, (Closure) args[1])
        }
        step('pipeline') { Map rec, List args ->
            new DeclarativePipeline(this).run((Closure) args[0])
        }
        step('script') { Map rec, List args -> ((Closure) args[0]).call() }
    }

    private static void requireAll(String step, Map given, List<String> keys) {
        String missing = keys.find { given[it] == null }
        if (missing) {
            fail("step ${step}: '${missing}' is required")
        }
    }

    private Map<String, String> resolveCredential(Map b) {
        Object stored = credentials[b.credentialsId]
        if (stored == null) {
            throw new PipelineError("Could not find credentials entry with ID '${b.credentialsId}'")
        }
        if (b.kind == 'string') {
            if (!(stored instanceof CharSequence)) {
                throw new PipelineError("Credentials '${b.credentialsId}' is of type 'Username with password' " +
                    "where 'org.jenkinsci.plugins.plaincredentials.StringCredentials' was expected")
            }
            return [(b.variable): stored.toString()]
        }
        if (!(stored instanceof Map)) {
            throw new PipelineError("Credentials '${b.credentialsId}' is of type 'Secret text' where " +
                "'com.cloudbees.plugins.credentials.common.StandardUsernamePasswordCredentials' was expected")
        }
        return [(b.usernameVariable): stored.username.toString(), (b.passwordVariable): stored.password.toString()]
    }

    /** Run `body` with `vars` in env (an empty value removes the variable, as in Jenkins), then restore. */
    private Object withVariables(Map<String, String> vars, Closure body) {
        Map<String, String> saved = env.findAll { it.key in vars.keySet() }
        vars.each { String k, String v -> v == '' ? env.remove(k) : env.put(k, v) }
        try {
            return body.call()
        } finally {
            vars.keySet().each { env.remove(it) }
            env.putAll(saved)
        }
    }

    private Map<String, String> shellEnv() {
        return agentEnv.findAll { it.value != null } + env
    }

    private Map runShell(String script) {
        ProcessBuilder builder = new ProcessBuilder('sh', '-xe', '-c', script).directory(workspace)
        builder.environment().clear()
        builder.environment().putAll(shellEnv())
        Process process = builder.start()
        process.outputStream.close()
        ByteArrayOutputStream out = new ByteArrayOutputStream()
        ByteArrayOutputStream err = new ByteArrayOutputStream()
        process.waitForProcessOutput(out, err)
        log << out.toString('UTF-8') << err.toString('UTF-8')
        return [status: process.exitValue(), stdout: out.toString('UTF-8')]
    }
}
