/** A build interrupted from outside (abort button, timeout), like Jenkins' FlowInterruptedException. */
class PipelineAborted extends RuntimeException {
    PipelineAborted(String message) {
        super(message)
    }
}
