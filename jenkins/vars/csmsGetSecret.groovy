// Returns the value of a CSMS secret (its latest version unless versionId is given):
//
//   def token = csmsGetSecret(secretName: 'deploy-token')
//
// Jenkins does not mask a value a step returns: pass it on in withEnv, never echo it.

def call(Map args) {
    hwcloud.checkParameters('csmsGetSecret', args, ['secretName', 'secretId', 'versionId'])
    def name = args.secretName ?: args.secretId
    if (!name) {
        error('csmsGetSecret: secretName is required')
    }
    List command = ['csms', 'get-secret', '--secret-name', String.valueOf(name)]
    if (args.versionId) {
        command.addAll(['--version-id', String.valueOf(args.versionId)])
    }
    return hwcloud(command).value
}
