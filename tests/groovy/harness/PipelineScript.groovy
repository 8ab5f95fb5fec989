/**
 * Base class of every script the harness loads. As in Jenkins, `foo(...)` reaches a step stub (a
 * Closure in the binding) or another global var (a Script in the binding, through its `call`).
 */
abstract class PipelineScript extends Script {
    def methodMissing(String name, Object args) {
        Object target = binding.hasVariable(name) ? binding.getVariable(name) : null
        if (target instanceof Closure) {
            return ((Closure) target).call((Object[]) args)
        }
        if (target instanceof Script) {
            return ((Script) target).invokeMethod('call', args)
        }
        throw new MissingMethodException(name, getClass(), (Object[]) args)
    }
}
