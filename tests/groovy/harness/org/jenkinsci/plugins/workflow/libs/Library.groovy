package org.jenkinsci.plugins.workflow.libs

import java.lang.annotation.Retention
import java.lang.annotation.RetentionPolicy

/** Stand-in for the `@Library('name@version') _` annotation of pipeline-groovy-lib. */
@Retention(RetentionPolicy.SOURCE)
@interface Library {
    String[] value()
}
