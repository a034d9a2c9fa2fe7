// Uploads to OBS, as pipeline-aws's s3Upload (and the old plugin's obsUpload):
//
//   obsUpload(file: 'dist/app.zip', bucket: 'artefacts', path: 'builds/42/app.zip')
//   obsUpload(file: 'dist', bucket: 'artefacts', path: 'builds/42/')            // a folder, whole
//   obsUpload(bucket: 'site', path: 'www/', workingDir: 'public', includePathPattern: '**/*',
//             excludePathPattern: '**/*.map', metadatas: ['team:web'], contentType: 'text/html')
//   obsUpload(text: 'hello', bucket: 'artefacts', path: 'notes/hello.txt')
//
// path ending in / (or empty) receives the file's name. Patterns are globs relative to workingDir
// (comma-separated lists allowed). Returns the obs:// URL uploaded to.

def call(Map args) {
    hwcloud.checkParameters('obsUpload', args,
        ['bucket', 'path', 'file', 'text', 'includePathPattern', 'excludePathPattern', 'workingDir', 'metadatas',
         'contentType', 'pathStyleAccessEnabled', 'payloadSigningEnabled', 'verbose'])
    if (!args.bucket) {
        error('obsUpload: bucket is required')
    }
    int sources = (args.file != null ? 1 : 0) + (args.text != null ? 1 : 0) + (args.includePathPattern != null ? 1 : 0)
    if (sources != 1) {
        error('obsUpload: give exactly one of file, text or includePathPattern')
    }
    String target = hwcloud.url(args.bucket, args.path)
    List options = hwcloud.metadataOptions(args.metadatas)
    if (args.contentType) {
        options.add('--content-type')
        options.add(String.valueOf(args.contentType))
    }
    if (args.text != null) {
        if (hwcloud.isFolder(hwcloud.key(args.path))) {
            error('obsUpload: text needs a path naming the object')
        }
        hwcloud.run(['obs', 'cp', '-', target] + options, String.valueOf(args.text))
    } else if (args.file != null) {
        String source = args.workingDir ? args.workingDir + '/' + args.file : String.valueOf(args.file)
        // --recursive copies a folder whole; a file is copied as it would be without it.
        hwcloud(['obs', 'cp', source, target, '--recursive'] + options)
    } else {
        List filters = ['--exclude', '**']
        for (def pattern in String.valueOf(args.includePathPattern).split(',')) {
            filters.add('--include')
            filters.add(pattern.trim())
        }
        if (args.excludePathPattern) {
            for (def pattern in String.valueOf(args.excludePathPattern).split(',')) {
                filters.add('--exclude')
                filters.add(pattern.trim())
            }
        }
        hwcloud(['obs', 'cp', args.workingDir ? String.valueOf(args.workingDir) : '.', target, '--recursive'] +
                filters + options)
    }
    return target
}
