// A presigned URL for one object, as pipeline-aws's s3PresignURL (default: GET, valid 60 seconds):
//
//   def url = obsPresignURL(bucket: 'artefacts', key: 'builds/42/app.zip', durationInSeconds: 3600)

def call(Map args) {
    hwcloud.checkParameters('obsPresignURL', args,
        ['bucket', 'key', 'durationInSeconds', 'httpMethod', 'pathStyleAccessEnabled', 'payloadSigningEnabled'])
    if (!args.bucket || !args.key) {
        error('obsPresignURL: bucket and key are required')
    }
    String duration = String.valueOf(args.durationInSeconds != null ? args.durationInSeconds : 60)
    String method = args.httpMethod ? String.valueOf(args.httpMethod) : 'GET'
    return hwcloud(['obs', 'presign', hwcloud.url(args.bucket, args.key), '--expires-in', duration,
                    '--method', method]).url
}
