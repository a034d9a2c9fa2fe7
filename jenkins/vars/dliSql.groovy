// Runs SQL on DLI, waits, and returns the last statement's result:
// [job_id, job_type, status, jobs, columns: [[name, type]], rows: [[...]], row_count].
//
//   def check = dliSql(sql: 'SELECT count(*) AS bad FROM quality.checks WHERE ok = false')
//   if (check.rows[0][0] > 0) { error('data checks failed') }
//
// Parameters as DLISqlOperator's: sql (statements separated by ;), databaseName, queueName, conf (a Map
// of Spark settings), maxRows (0 to 1,000); pollInterval and timeout in seconds. A job that fails fails
// the step (exit 5) with DLI's message; an aborted build cancels the running job.

def call(Map args) {
    hwcloud.checkParameters('dliSql', args, ['sql', 'databaseName', 'queueName', 'conf', 'maxRows', 'pollInterval', 'timeout'])
    if (!args.sql) {
        error('dliSql: sql is required')
    }
    List command = ['dli', 'sql', '--sql', String.valueOf(args.sql)]
    if (args.databaseName) {
        command.addAll(['--database', String.valueOf(args.databaseName)])
    }
    if (args.queueName) {
        command.addAll(['--queue', String.valueOf(args.queueName)])
    }
    if (args.conf) {
        for (def name in args.conf.keySet()) {
            command.addAll(['--conf', name + '=' + args.conf[name]])
        }
    }
    if (args.maxRows != null) {
        command.addAll(['--max-rows', String.valueOf(args.maxRows)])
    }
    if (args.pollInterval != null) {
        command.addAll(['--poll-interval', String.valueOf(args.pollInterval)])
    }
    if (args.timeout != null) {
        command.addAll(['--timeout', String.valueOf(args.timeout)])
    }
    return hwcloud(command)
}
