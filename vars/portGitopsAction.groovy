// portGitopsAction: the portEnrichService step under a name for any action (help: portGitopsAction.txt).
// Glue only: the same parameters, checks and result; portEnrichService stays for existing pipelines.

/** Run a Port action through port-gitops; returns the tool's result as a Map (see portEnrichService). */
Map call(Map config = [:]) {
    return portEnrichService.call(config)
}

/** For a pipeline's post { failure / aborted }: see portEnrichService.reportFailure. */
boolean reportFailure(Map config = [:]) {
    return portEnrichService.reportFailure(config)
}
