import groovy.json.JsonOutput
import groovy.json.JsonSlurperClassic
import org.codehaus.groovy.control.CompilerConfiguration
import org.codehaus.groovy.runtime.InvokerHelper

import java.util.concurrent.Callable
import java.util.concurrent.ExecutorService
import java.util.concurrent.Executors
import java.util.concurrent.Future

// Runs Jenkinsfiles against the shared library's vars in one JVM (--parallel N at a time), each with a
// workspace and an environment of its own, and writes what each did as JSON:
//
//   groovy -cp jenkins/test jenkins/test/run_pipelines.groovy --library jenkins/vars \
//       --workspaces DIR --credentials creds.json --results results.json [--parallel N] a.Jenkinsfile b.Jenkinsfile
//
// The workspace of a.Jenkinsfile is DIR/a (created if missing); credentials.json maps a credentials id
// to {"kind": "usernamePassword", "username": ..., "password": ...}. A result is {"ok", "value" (what
// the Jenkinsfile's last statement gave), "error", "log" (secrets masked), "scripts" (what sh ran)}.

Map options = [:]
List<File> jenkinsfiles = []
for (int i = 0; i < args.length; i++) {
    if (args[i].startsWith('--')) {
        String option = args[i].substring(2)
        options[option] = args[i + 1]
        i++
    } else {
        jenkinsfiles << new File(args[i])
    }
}
['library', 'workspaces', 'credentials', 'results'].each { name ->
    if (!options[name]) {
        System.err.println("run_pipelines: --${name} is required")
        System.exit(2)
    }
}

CompilerConfiguration configuration = new CompilerConfiguration()
configuration.scriptBaseClass = 'PipelineScript'
configuration.sourceEncoding = 'UTF-8'
GroovyClassLoader loader = new GroovyClassLoader(this.class.classLoader, configuration)
Map<String, Class> vars = new TreeMap<String, Class>()
new File(options.library).listFiles().findAll { it.name.endsWith('.groovy') }.each { File file ->
    vars[file.name - '.groovy'] = loader.parseClass(file)
}
// JsonSlurperClassic: plain maps, safe to read from the builds running in parallel (JsonSlurper's lazy
// maps are not: they failed with "this.keys is null" under load).
Map<String, Map> credentials = new JsonSlurperClassic().parse(new File(options.credentials), 'UTF-8')

// Compiled one after another; run --parallel N at a time (default 1), each in its own build.
Map<String, Class> builds = new LinkedHashMap<String, Class>()
jenkinsfiles.each { File jenkinsfile ->
    String name = jenkinsfile.name.replaceFirst(/\.[^.]*$/, '')
    builds[name] = loader.parseClass(jenkinsfile.getText('UTF-8'), name.replaceAll(/\W/, '_') + '.groovy')
}
ExecutorService pool = Executors.newFixedThreadPool(Integer.parseInt(options.parallel ?: '1'))
Map<String, Future<Map>> running = new LinkedHashMap<String, Future<Map>>()
builds.each { String name, Class jenkinsfile ->
    running[name] = pool.submit({ build(name, jenkinsfile, vars, credentials, new File(options.workspaces, name)) } as Callable<Map>)
}
Map<String, Map> results = [:]
running.each { String name, Future<Map> result ->
    results[name] = result.get()
    System.err.println("run_pipelines: ${name}: ${results[name].ok ? 'SUCCESS' : 'FAILURE'}")
}
pool.shutdown()
new File(options.results).setText(JsonOutput.toJson(results), 'UTF-8')

// Runs one Jenkinsfile as a build of its own: its workspace, environment, steps and library instances.
Map build(String name, Class jenkinsfile, Map<String, Class> vars, Map<String, Map> credentials, File workspace) {
    workspace.mkdirs()
    Map<String, String> environment = new LinkedHashMap<String, String>(System.getenv())
    environment.putAll([WORKSPACE: workspace.absolutePath, JOB_NAME: name, BUILD_NUMBER: '42'])
    CoreSteps steps = new CoreSteps(workspace, environment, credentials)
    Binding library = bind(steps, CoreSteps.LIBRARY_STEPS)
    Binding pipeline = bind(steps, CoreSteps.PIPELINE_STEPS)
    vars.each { String var, Class type ->
        Script script = InvokerHelper.createScript(type, library)
        library.setVariable(var, script)
        pipeline.setVariable(var, script)
    }
    Map result = [ok: true, value: null, error: null]
    try {
        result.value = jsonable(InvokerHelper.createScript(jenkinsfile, pipeline).run())
    } catch (Throwable failure) {
        result.ok = false
        result.error = "${failure.getClass().name}: ${failure.message}".toString()
        steps.log << "ERROR: ${failure.message}\n"
    }
    result.log = steps.maskedLog()
    result.scripts = steps.scripts
    return result
}

// What a Jenkinsfile gave, as JSON can hold it (its text when JSON cannot).
Object jsonable(Object value) {
    try {
        return new JsonSlurperClassic().parseText(JsonOutput.toJson([value]))[0]
    } catch (Exception ignored) {
        return String.valueOf(value)
    }
}

Binding bind(CoreSteps steps, List<String> names) {
    Binding binding = new Binding()
    names.each { String step -> binding.setVariable(step, steps.&"$step") }
    binding.setVariable('env', steps.envVariable())
    return binding
}
