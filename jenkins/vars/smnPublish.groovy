// Publishes to an SMN topic, as pipeline-aws's snsPublish (topicArn is accepted for topicUrn):
//
//   smnPublish(topicUrn: 'urn:smn:cn-north-4:<project id>:builds', subject: 'Build 42', message: 'passed')
//   smnPublish(topicUrn: urn, messageStructure: [default: 'passed', email: 'Build 42 passed.'])
//   smnPublish(topicUrn: urn, templateName: 'build-result', tags: [build: '42', result: 'passed'])
//
// Returns the message id.

def call(Map args) {
    hwcloud.checkParameters('smnPublish', args,
        ['topicUrn', 'topicArn', 'subject', 'message', 'messageStructure', 'templateName', 'tags'])
    def topic = args.topicUrn ?: args.topicArn
    if (!topic) {
        error('smnPublish: topicUrn is required')
    }
    List command = ['smn', 'publish', '--topic-urn', String.valueOf(topic)]
    if (args.subject != null) {
        command.addAll(['--subject', String.valueOf(args.subject)])
    }
    if (args.message != null) {
        command.addAll(['--message', String.valueOf(args.message)])
    }
    if (args.messageStructure != null) {
        command.addAll(['--message-structure', hwcloud.json(args.messageStructure)])
    }
    if (args.templateName != null) {
        command.addAll(['--template-name', String.valueOf(args.templateName)])
    }
    if (args.tags != null) {
        command.addAll(['--tags', hwcloud.json(args.tags)])
    }
    return hwcloud(command).message_id
}
