// Copies objects inside OBS (server-side), as pipeline-aws's s3Copy:
//
//   obsCopy(fromBucket: 'staging', fromPath: 'builds/42/app.zip', toBucket: 'releases', toPath: 'app/1.4.0.zip')
//
// A fromPath ending in / copies everything under it. metadatas: ['Key:Value'] replaces the user
// metadata. Returns the obs:// URL copied to.

def call(Map args) {
    hwcloud.checkParameters('obsCopy', args,
        ['fromBucket', 'fromPath', 'toBucket', 'toPath', 'metadatas', 'pathStyleAccessEnabled', 'payloadSigningEnabled'])
    if (!args.fromBucket || !args.toBucket) {
        error('obsCopy: fromBucket and toBucket are required')
    }
    String target = hwcloud.url(args.toBucket, args.toPath)
    List command = ['obs', 'cp', hwcloud.url(args.fromBucket, args.fromPath), target]
    if (hwcloud.isFolder(hwcloud.key(args.fromPath))) {
        command.add('--recursive')
    }
    hwcloud(command + hwcloud.metadataOptions(args.metadatas))
    return target
}
