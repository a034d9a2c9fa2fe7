import groovy.json.JsonOutput
import groovy.json.JsonSlurperClassic

// The core Jenkins steps the library may use, done for real on this machine: sh runs /bin/sh in the
// workspace with the build's environment, withEnv and withCredentials change that environment for their
// block (credentials come from a JSON file standing in for Jenkins's store, and are masked in the log as
// Jenkins masks them), error fails the build, readJSON/writeJSON are pipeline-utility-steps'. node,
// stage and echo are there for Jenkinsfiles. What Jenkins adds and this does not: CPS (the program
// surviving a controller restart), the script sandbox, agents.

class CoreSteps {
    // The steps the library's vars may call; a Jenkinsfile may call every public method here.
    static final List<String> LIBRARY_STEPS = [
        'sh', 'withEnv', 'withCredentials', 'usernamePassword', 'error', 'readJSON', 'writeJSON', 'echo',
    ]
    static final List<String> PIPELINE_STEPS = LIBRARY_STEPS + ['node', 'stage']

    final File workspace
    final Map<String, String> baseEnvironment
    final Map<String, Map> credentials
    final List<Map<String, String>> overlays = []
    final Set<String> secrets = new LinkedHashSet<String>()
    final StringBuilder log = new StringBuilder()
    final List<String> scripts = []  // every script sh ran, as written (the test checks no secret is in one)

    CoreSteps(File workspace, Map<String, String> environment, Map<String, Map> credentials) {
        this.workspace = workspace
        this.baseEnvironment = new LinkedHashMap<String, String>(environment)
        this.credentials = credentials
    }

    Map<String, String> environment() {
        Map<String, String> merged = new LinkedHashMap<String, String>(baseEnvironment)
        overlays.each { merged.putAll(it) }
        return merged
    }

    Object sh(String script) {
        return sh([script: script])
    }

    Object sh(Map args) {
        String script = args.script
        scripts << script
        log << '[Pipeline] sh\n'
        ProcessBuilder builder = new ProcessBuilder('sh', '-xe', '-c', script).directory(workspace)
        builder.environment().clear()
        builder.environment().putAll(environment())
        Process process = builder.start()
        process.outputStream.close()
        ByteArrayOutputStream out = new ByteArrayOutputStream()
        ByteArrayOutputStream err = new ByteArrayOutputStream()
        process.waitForProcessOutput(out, err)
        int status = process.exitValue()
        String stdout = out.toString('UTF-8')
        log << err.toString('UTF-8')
        if (!args.returnStdout) {
            log << stdout
        }
        if (args.returnStatus) {
            return status
        }
        if (status != 0) {
            throw new AbortException("script returned exit code ${status}")
        }
        return args.returnStdout ? stdout : null
    }

    Object withEnv(List pairs, Closure body) {
        Map<String, String> overlay = [:]
        pairs.each { String pair ->
            int equals = pair.indexOf('=')
            overlay[pair.substring(0, equals)] = pair.substring(equals + 1)
        }
        return within(overlay, body)
    }

    Map usernamePassword(Map args) {
        return [kind: 'usernamePassword'] + args
    }

    Object withCredentials(List bindings, Closure body) {
        Map<String, String> overlay = [:]
        bindings.each { Map binding ->
            Map stored = credentials[binding.credentialsId]
            if (stored == null || stored.kind != binding.kind) {
                throw new AbortException("Could not find credentials entry with ID '${binding.credentialsId}'")
            }
            overlay[binding.usernameVariable] = stored.username
            overlay[binding.passwordVariable] = stored.password
            secrets << stored.password
        }
        return within(overlay, body)
    }

    void error(String message) {
        throw new AbortException(message)
    }

    Object readJSON(Map args) {
        String text = args.containsKey('file') ? new File(workspace, args.file).getText('UTF-8') : args.text
        return new JsonSlurperClassic().parseText(text)  // plain Maps and Lists, as with returnPojo: true
    }

    Object writeJSON(Map args) {
        String text = JsonOutput.toJson(args.json)
        if (args.returnText) {
            return text
        }
        new File(workspace, args.file).setText(text, 'UTF-8')
        return null
    }

    void echo(Object message) {
        log << "${message}\n"
    }

    Object node(Closure body) {
        return body()
    }

    Object node(String label, Closure body) {
        return body()
    }

    Object stage(String name, Closure body) {
        log << "[Pipeline] stage (${name})\n"
        return body()
    }

    // The env global variable of a build run with these steps.
    GroovyObject envVariable() {
        return new Environment(this)
    }

    String maskedLog() {
        String text = log.toString()
        secrets.findAll { it }.each { text = text.replace(it, '****') }
        return text
    }

    private Object within(Map<String, String> overlay, Closure body) {
        overlays << overlay
        try {
            return body()
        } finally {
            overlays.remove(overlays.size() - 1)
        }
    }

    // What Jenkins throws when a step fails (hudson.AbortException).
    static class AbortException extends RuntimeException {
        AbortException(String message) {
            super(message)
        }
    }

    // The env global variable: env.NAME reads the build's environment as the enclosing blocks set it;
    // env.NAME = value sets it for the rest of the build.
    static class Environment extends GroovyObjectSupport {
        final CoreSteps steps

        Environment(CoreSteps steps) {
            this.steps = steps
        }

        @Override
        Object getProperty(String name) {
            return steps.environment()[name]
        }

        @Override
        void setProperty(String name, Object value) {
            steps.baseEnvironment[name] = String.valueOf(value)
        }
    }
}
