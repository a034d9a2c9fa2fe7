// The base class of every script the harness runs (the library's vars and the Jenkinsfiles): as in
// Jenkins, a call to a name that is not a method resolves to a step or a global variable bound under
// that name. A bound Closure (a step) is called by groovy.lang.Script itself; a bound script (a var of
// the library) is called through its call(...) method.

abstract class PipelineScript extends Script {
    @Override
    Object invokeMethod(String name, Object args) {
        try {
            return super.invokeMethod(name, args)
        } catch (MissingMethodException missing) {
            if (missing.method != name || !binding.hasVariable(name)) {
                throw missing
            }
            return binding.getVariable(name).invokeMethod('call', args)
        }
    }
}
