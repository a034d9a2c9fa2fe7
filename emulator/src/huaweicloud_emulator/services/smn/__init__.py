"""SMN (Simple Message Notification) as the official ``huaweicloudsdksmn`` v2 ``SmnClient`` calls it.

Routes, fields and response shapes come from the SDK (``SmnClient._<operation>_http_info`` and the
models' ``attribute_map``): topics (create -- idempotent by name, as on the cloud: an existing topic
answers 200 with its URN --, list with offset/limit and filters, show, update, delete, attributes),
subscriptions (add -- idempotent by protocol and endpoint --, list by topic, list all, cancel,
confirm), message templates (create, list, show, update, delete) and publish, with the three ways the
cloud accepts (``message_structure`` > ``message_template_name`` > ``message``).

Topic URNs are ``urn:smn:<region>:<project_id>:<name>``, subscription URNs the topic URN plus
``:<32 hex>``. ``{project_id}`` in a path must be a project of the account (else 403 ``SMN.0001``).
Subscriptions over http, https, email, sms and callnotify start unconfirmed (status 0) and are sent a
``SubscriptionConfirmation`` whose ``subscribe_url`` -- ``/_emulator/smn/subscription/confirm`` on this
emulator -- confirms them when fetched (so does the SDK's ConfirmSubscription with the token); the
function and chat-bot protocols are confirmed at once. Published messages reach confirmed subscriptions
only. Every message SMN would send becomes an outbox row, written in the transaction of the operation
that caused it; HTTP(S) endpoints are pushed to in the background.

Errors carry the documented SMN codes (``SMN.00010008`` for an unknown topic, the code the cloud answers
today; the older documentation lists ``SMN.0006``). A body that is not a JSON object is answered with
the code of the operation's main parameter. Deviations from the cloud: loopback and private addresses
are accepted as http(s) endpoints (the cloud refuses them), and pushes are signed with HMAC-SHA256
rather than a certificate.

The modules, from the request inwards:

- :mod:`.service` -- ``SmnService``, the signed API: one handler per SDK operation;
- :mod:`.outbox` -- ``SmnOutboxService``, its unsigned admin surface under ``/_emulator/smn/``;
- :mod:`.validation` -- what a request may contain, and the codes it is refused with;
- :mod:`.messages` -- the signed documents SMN sends and the content each subscription gets;
- :mod:`.state` -- the backend: topics, subscriptions, templates and the outbox in SQLite;
- :mod:`.delivery` -- the background HTTP(S) push of outbox rows, with retries;
- :mod:`.records` -- the records of the backend and their JSON; :mod:`.errors` -- the error codes.
"""

from .service import SmnService

__all__ = ["SmnService"]
