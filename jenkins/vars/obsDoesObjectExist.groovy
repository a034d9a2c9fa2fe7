// Whether an object exists, as pipeline-aws's s3DoesObjectExist:
//
//   if (obsDoesObjectExist(bucket: 'artefacts', path: 'builds/42/app.zip')) { ... }
//
// A bucket that does not exist fails the step (exit 4), rather than answering false.

def call(Map args) {
    hwcloud.checkParameters('obsDoesObjectExist', args, ['bucket', 'path', 'pathStyleAccessEnabled', 'payloadSigningEnabled'])
    if (!args.bucket || !args.path) {
        error('obsDoesObjectExist: bucket and path are required')
    }
    return hwcloud(['obs', 'exists', hwcloud.url(args.bucket, args.path)]).exists
}
