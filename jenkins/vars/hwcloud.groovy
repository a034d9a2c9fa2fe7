// Runs the hwcloud command-line tool and returns the JSON document it prints (a Map).
//
//   def listing = hwcloud(['obs', 'ls', 'obs://my-bucket/reports/'])
//
// Every argument is passed single-quoted, so no value is ever read by the shell: quotes, spaces and $
// arrive as written. The command is ${HWCLOUD_CLI:-hwcloud}: set HWCLOUD_CLI on an agent where the
// tool is not on the PATH. A failure fails the build with the exit code's meaning; the tool's own
// message is in the log just above. The other steps of this library are built on it, with only core
// steps: sh, withEnv, withCredentials, error, readJSON/writeJSON (pipeline-utility-steps).

def call(List args) {
    return run(args, null)
}

// As call(), with input (a String) on the tool's standard input.
def run(List args, String input) {
    String command = '${HWCLOUD_CLI:-hwcloud}'
    for (def arg in args) {
        command += ' ' + quote(arg)
    }
    if (input != null) {
        command = 'printf %s ' + quote(input) + ' | ' + command
    }
    // The exit status goes on the last line of stdout, so one sh call gives both it and the document.
    String out = sh(script: 'set +e\n' + command + '\nprintf "\\n%s" "$?"', returnStdout: true)
    int cut = out.lastIndexOf('\n')
    int status = Integer.parseInt(out.substring(cut + 1).trim())
    if (status != 0) {
        error('hwcloud ' + args[0] + ' ' + args[1] + ' failed (exit ' + status + ': ' + meaning(status) +
              '); its message is in the log above')
    }
    return readJSON(text: out.substring(0, cut), returnPojo: true)
}

// One shell word that the shell reads back as exactly value.
String quote(Object value) {
    return "'" + String.valueOf(value).replace("'", "'\"'\"'") + "'"
}

String meaning(int status) {
    Map meanings = [1: 'service or network error', 2: 'usage', 3: 'auth: no credentials, keys refused or access denied',
                    4: 'not found', 5: 'failed', 6: 'conflict: it exists already', 130: 'interrupted']
    return meanings.containsKey(status) ? meanings[status] : 'error'
}

// Fails the step on a parameter it does not know (a typo would otherwise be ignored).
def checkParameters(String step, Map args, List known) {
    for (def name in args.keySet()) {
        if (!known.contains(name)) {
            error(step + ': unknown parameter ' + name + ' (it takes ' + known.join(', ') + ')')
        }
    }
}

// An object key from a step's path: no leading slash (the old plugin's path: '/' is the bucket's root).
String key(Object path) {
    String text = path == null ? '' : String.valueOf(path)
    while (text.startsWith('/')) {
        text = text.substring(1)
    }
    return text
}

String url(Object bucket, Object path) {
    return 'obs://' + bucket + '/' + key(path)
}

boolean isFolder(String objectKey) {
    return objectKey == '' || objectKey.endsWith('/')
}

// --metadata options from pipeline-aws's metadatas: ['Key:Value', ...].
List metadataOptions(Object metadatas) {
    List options = []
    if (metadatas != null) {
        for (def entry in metadatas) {
            String text = String.valueOf(entry)
            int colon = text.indexOf(':')
            if (colon < 1) {
                error('metadatas: expected Key:Value, got ' + text)
            }
            options.add('--metadata')
            options.add(text.substring(0, colon) + '=' + text.substring(colon + 1))
        }
    }
    return options
}

// A Map or List as JSON text; a String as it is.
String json(Object value) {
    return value instanceof CharSequence ? String.valueOf(value) : writeJSON(returnText: true, json: value)
}
