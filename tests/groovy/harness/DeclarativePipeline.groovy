/**
 * Just enough of Declarative Pipeline to run a Jenkinsfile in the harness: the directives are recorded
 * (agent, options, triggers), stages run in order with their `when { expression {} }`, a failing or
 * aborted stage skips the rest, and the `post` conditions follow the build result as in Jenkins.
 * Only what is declared here is accepted; anything else fails like a Jenkins validation error.
 */
class DeclarativePipeline {
    static final List<String> POST_ORDER = ['always', 'changed', 'fixed', 'regression', 'aborted', 'failure',
                                            'success', 'unstable', 'unsuccessful', 'cleanup']

    final PipelineHarness harness
    Object agent
    final List<Map> options = []
    final List<Map> triggers = []
    final List<Map> stages = []
    final Map<String, Closure> post = [:]
    /** Stage names in the order they ran (skipped ones are not listed). */
    final List<String> ran = []

    DeclarativePipeline(PipelineHarness harness) {
        this.harness = harness
    }

    void run(Closure body) {
        harness.binding.setVariable('declarative', this)
        apply(body, new Top(this))
        for (Map stage in stages) {
            if (!harness.currentBuild.currentResult.equals('SUCCESS') && !harness.currentBuild.currentResult.equals('UNSTABLE')) {
                break
            }
            if (!stage.when.every { Closure c -> c.call() }) {
                continue
            }
            ran << stage.name
            try {
                stage.steps.call()
            } catch (PipelineAborted aborted) {
                harness.log << "Aborted: ${aborted.message}\n"
                harness.setResult('ABORTED')
            } catch (PipelineError failed) {
                harness.log << "ERROR: ${failed.message}\n"
                harness.setResult('FAILURE')
            }
        }
        String result = harness.currentBuild.currentResult
        Map<String, Boolean> applies = [always: true, aborted: result == 'ABORTED', failure: result == 'FAILURE',
                                        success: result == 'SUCCESS', unstable: result == 'UNSTABLE',
                                        unsuccessful: result != 'SUCCESS', cleanup: true]
        POST_ORDER.findAll { post[it] && applies[it] }.each { post[it].call() }
    }

    private static void apply(Closure body, Object delegate) {
        body.delegate = delegate
        body.resolveStrategy = Closure.DELEGATE_FIRST
        body.call()
    }

    /** Base of the directive collectors: static, so a Jenkinsfile name never resolves to this class by accident. */
    static class Section {
        final DeclarativePipeline p

        Section(DeclarativePipeline p) {
            this.p = p
        }
    }

    static class Top extends Section {
        Top(DeclarativePipeline p) { super(p) }

        String getAny() { 'any' }
        String getNone() { 'none' }

        void agent(Object value) { p.agent = value }
        void options(Closure body) { apply(body, new Recorder(p.options)) }
        void triggers(Closure body) { apply(body, new Recorder(p.triggers)) }
        void stages(Closure body) { apply(body, new Stages(p)) }
        void post(Closure body) { apply(body, new Post(p)) }
    }

    static class Stages extends Section {
        Stages(DeclarativePipeline p) { super(p) }

        void stage(String name, Closure body) {
            Map stage = [name: name, when: [], steps: null]
            apply(body, new Stage(stage))
            if (stage.steps == null) {
                throw new AssertionError("stage '${name}' has no steps")
            }
            p.stages << stage
        }
    }

    static class Stage {
        final Map stage

        Stage(Map stage) {
            this.stage = stage
        }

        void when(Closure body) { apply(body, new When(stage)) }
        void steps(Closure body) { stage.steps = body }
    }

    static class When {
        final Map stage

        When(Map stage) {
            this.stage = stage
        }

        void expression(Closure condition) { stage.when << condition }
    }

    static class Post extends Section {
        Post(DeclarativePipeline p) { super(p) }

        void always(Closure body) { p.post.always = body }
        void aborted(Closure body) { p.post.aborted = body }
        void failure(Closure body) { p.post.failure = body }
        void success(Closure body) { p.post.success = body }
        void unstable(Closure body) { p.post.unstable = body }
        void unsuccessful(Closure body) { p.post.unsuccessful = body }
        void cleanup(Closure body) { p.post.cleanup = body }
    }
}

/** Records nested calls such as `timeout(time: 5, unit: 'MINUTES')` or `GenericTrigger(...)`. */
class Recorder {
    final List<Map> into

    Recorder(List<Map> into) {
        this.into = into
    }

    def methodMissing(String name, Object args) {
        Map call = [name: name, args: ((Object[]) args) as List]
        into << call
        return call
    }
}
