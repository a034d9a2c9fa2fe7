// Lists objects under a folder, as pipeline-aws's s3FindFiles:
//
//   def reports = obsFindFiles(bucket: 'artefacts', path: 'builds/42/', glob: '**/*.xml')
//
// Each entry: name, path (relative to path), directory (false), length, lastModified (ISO 8601 text).
// glob is matched against the relative path (** crosses folders; a pattern without / matches the file
// name at any depth); without it, every object. OBS has no folders, so only objects are returned
// (onlyFiles is accepted for pipeline-aws's sake).

def call(Map args) {
    hwcloud.checkParameters('obsFindFiles', args,
        ['bucket', 'path', 'glob', 'onlyFiles', 'pathStyleAccessEnabled', 'payloadSigningEnabled'])
    if (!args.bucket) {
        error('obsFindFiles: bucket is required')
    }
    String prefix = hwcloud.key(args.path)
    if (!hwcloud.isFolder(prefix)) {
        prefix += '/'
    }
    List command = ['obs', 'ls', hwcloud.url(args.bucket, prefix), '--recursive']
    if (args.glob) {
        command.addAll(['--exclude', '**', '--include', String.valueOf(args.glob)])
    }
    List files = []
    for (def object in hwcloud(command).objects) {
        String path = object.key.substring(prefix.length())
        if (!hwcloud.isFolder(path)) {
            files.add([name: path.substring(path.lastIndexOf('/') + 1), path: path, directory: false,
                       length: object.size, lastModified: object.last_modified])
        }
    }
    return files
}
