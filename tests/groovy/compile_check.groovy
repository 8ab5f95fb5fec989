// Compiles the Jenkinsfile and vars/*.groovy with this Groovy (2.4.21, as embedded in Jenkins), which
// rejects Groovy 3+ syntax that npm-groovy-lint (Groovy 4) accepts. Usage: groovy -cp harness compile_check.groovy
import org.codehaus.groovy.control.CompilerConfiguration
import org.codehaus.groovy.control.MultipleCompilationErrorsException

assert GroovySystem.version.startsWith('2.4.'): "Groovy 2.4 is required (Jenkins embeds 2.4.21), not ${GroovySystem.version}"
CompilerConfiguration config = new CompilerConfiguration()
config.addCompilationCustomizers(PipelineHarness.jenkinsImports())
List<File> sources = [new File(PipelineHarness.REPO, 'Jenkinsfile')] +
    new File(PipelineHarness.REPO, 'vars').listFiles().findAll { it.name.endsWith('.groovy') }.sort()
int failed = 0
sources.each { File source ->
    try {
        new GroovyShell(getClass().classLoader, new Binding(), config).parse(source)
    } catch (MultipleCompilationErrorsException e) {
        failed++
        System.err.println("${source}: ${e.message}")
    }
}
println "compile check (Groovy ${GroovySystem.version}): ${sources.size()} files, ${failed} failed"
System.exit(failed ? 1 : 0)
