// Runs every *Test.groovy in this directory (JUnit 4) in one JVM. Usage: groovy -cp harness run.groovy [Name...]
import org.junit.runner.JUnitCore
import org.junit.runner.Result

File here = new File('.').canonicalFile
List<String> only = args as List
GroovyClassLoader loader = new GroovyClassLoader(getClass().classLoader)
List<Class> classes = here.listFiles().findAll { it.name.endsWith('Test.groovy') }.sort { it.name }
    .findAll { !only || (it.name - '.groovy') in only }
    .collect { loader.parseClass(it) }
Result result = JUnitCore.runClasses(classes as Class[])
result.failures.each { failure ->
    System.err.println("FAIL ${failure.testHeader}: ${failure.message}")
    System.err.println(failure.trace.readLines().findAll { it.contains('Test.groovy') || !it.startsWith('\tat ') }.take(12).join('\n'))
}
println "groovy tests: tests=${result.runCount} failures=${result.failureCount} ignored=${result.ignoreCount} time=${result.runTime}ms"
System.exit(result.wasSuccessful() && result.runCount > 0 ? 0 : 1)
