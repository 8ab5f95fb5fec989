/** What a failing step throws in the harness, as hudson.AbortException does in Jenkins. */
class PipelineError extends RuntimeException {
    PipelineError(String message) {
        super(message)
    }
}
