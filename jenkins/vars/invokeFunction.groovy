// Invokes a FunctionGraph function and returns what it returned, as pipeline-aws's invokeLambda and the
// old plugin's invokeFunction:
//
//   def result = invokeFunction(functionName: 'deploy', payload: [version: '1.4.0'])
//   def text = invokeFunction(functionName: 'deploy', payloadAsString: '{"version": "1.4.0"}',
//                             returnValueAsString: true)
//
// functionName: a name, package:name, or the function's URN. A function that fails fails the step
// (exit 5), its error and the tail of its log in the build log.

def call(Map args) {
    hwcloud.checkParameters('invokeFunction', args, ['functionName', 'payload', 'payloadAsString', 'returnValueAsString'])
    if (!args.functionName) {
        error('invokeFunction: functionName is required')
    }
    List command = ['functiongraph', 'invoke', '--function-name', String.valueOf(args.functionName)]
    if (args.payload != null) {
        command.addAll(['--payload', hwcloud.json(args.payload)])
    } else if (args.payloadAsString != null) {
        command.addAll(['--payload', String.valueOf(args.payloadAsString)])
    }
    def result = hwcloud(command).result
    return args.returnValueAsString && result != null ? hwcloud.json(result) : result
}
