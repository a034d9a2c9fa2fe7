// Runs body with Huawei Cloud settings for the steps inside it (as pipeline-aws's withAWS):
//
//   withHuaweiCloud(region: 'cn-north-4', credentials: 'huaweicloud-ci') { obsUpload(...) }
//
// credentials: the id of a "Username with password" credential (username = access key, password =
// secret key), bound with withCredentials so that Jenkins masks it; without it, the agent's environment
// or its ECS agency. endpointUrl: one base URL for every service (a private endpoint, an emulator).
// agency / agencyDomain (or withAWS's role / roleAccount) and duration: take temporary keys of an IAM
// agency with those keys. projectId: skip the project look-up.

def call(Map args = [:], Closure body) {
    hwcloud.checkParameters('withHuaweiCloud', args,
        ['region', 'endpointUrl', 'credentials', 'projectId', 'agency', 'agencyDomain', 'duration', 'role',
         'roleAccount'])
    List settings = []
    if (args.region) {
        settings.add('HUAWEICLOUD_SDK_REGION=' + args.region)
    }
    if (args.endpointUrl) {
        settings.add('HUAWEICLOUD_ENDPOINT=' + args.endpointUrl)
    }
    if (args.projectId) {
        settings.add('HUAWEICLOUD_SDK_PROJECT_ID=' + args.projectId)
    }
    def agency = args.agency ?: args.role
    def agencyDomain = args.agencyDomain ?: args.roleAccount
    if (agency || agencyDomain) {
        if (!agency || !agencyDomain) {
            error('withHuaweiCloud: an agency needs both agency and agencyDomain')
        }
        settings.add('HUAWEICLOUD_AGENCY_NAME=' + agency)
        settings.add('HUAWEICLOUD_AGENCY_DOMAIN=' + agencyDomain)
        if (args.duration) {
            settings.add('HUAWEICLOUD_AGENCY_DURATION=' + args.duration)
        }
    }
    if (!args.credentials) {
        return withEnv(settings) {
            body()
        }
    }
    // The credential's keys are permanent: a security token from the agent's environment is not theirs.
    settings.add('HUAWEICLOUD_SDK_SECURITY_TOKEN=')
    return withCredentials([usernamePassword(credentialsId: args.credentials,
                                             usernameVariable: 'HUAWEICLOUD_SDK_AK',
                                             passwordVariable: 'HUAWEICLOUD_SDK_SK')]) {
        withEnv(settings) {
            body()
        }
    }
}
