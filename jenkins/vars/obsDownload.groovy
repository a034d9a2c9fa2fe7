// Downloads from OBS into the workspace, as pipeline-aws's s3Download:
//
//   obsDownload(file: 'app.zip', bucket: 'artefacts', path: 'builds/42/app.zip', force: true)
//   obsDownload(file: 'reports/', bucket: 'artefacts', path: 'builds/42/reports/')   // a folder, whole
//
// A path ending in / downloads everything under it. Without force: true an existing file fails the
// step. Returns the paths written.

def call(Map args) {
    hwcloud.checkParameters('obsDownload', args,
        ['bucket', 'path', 'file', 'force', 'pathStyleAccessEnabled', 'payloadSigningEnabled'])
    if (!args.bucket || !args.file) {
        error('obsDownload: bucket and file are required')
    }
    List command = ['obs', 'cp', hwcloud.url(args.bucket, args.path), String.valueOf(args.file)]
    if (hwcloud.isFolder(hwcloud.key(args.path))) {
        command.add('--recursive')
    }
    if (!args.force) {
        command.add('--no-overwrite')
    }
    List written = []
    for (def transfer in hwcloud(command).transferred) {
        written.add(transfer.destination)
    }
    return written
}
