import java.lang.annotation.Retention
import java.lang.annotation.RetentionPolicy

// @Library('name') _ at the top of a Jenkinsfile loads a shared library in Jenkins; in the harness the
// library is always loaded, and the annotation only has to compile.
@Retention(RetentionPolicy.SOURCE)
@interface Library {
    String[] value()
}
