// The old pipeline-huaweicloud-plugin's withOBS(endpointUrl, region, credentials[, role, roleAccount,
// duration]): the same as withHuaweiCloud, so that its Jenkinsfiles run unchanged.

def call(Map args = [:], Closure body) {
    hwcloud.checkParameters('withOBS', args, ['endpointUrl', 'region', 'credentials', 'role', 'roleAccount', 'duration'])
    return withHuaweiCloud(args, body)
}
