// Deletes from OBS, as pipeline-aws's s3Delete:
//
//   obsDelete(bucket: 'artefacts', path: 'builds/41/app.zip')
//   obsDelete(bucket: 'artefacts', path: 'builds/41/')          // everything under it, 1,000 a request
//
// Returns how many objects were deleted (a missing key counts as deleted, as OBS answers).

def call(Map args) {
    hwcloud.checkParameters('obsDelete', args, ['bucket', 'path', 'pathStyleAccessEnabled', 'payloadSigningEnabled'])
    if (!args.bucket || !args.path) {
        error('obsDelete: bucket and path are required')
    }
    List command = ['obs', 'rm', hwcloud.url(args.bucket, args.path)]
    if (hwcloud.isFolder(hwcloud.key(args.path))) {
        command.add('--recursive')
    }
    return hwcloud(command).deleted
}
