"""The WhatsApp Cloud API protocol: pure protocol code on top of :mod:`store` and :mod:`errors`.

* :mod:`channels.signature` - ``X-Hub-Signature-256`` and the GET handshake;
* :mod:`channels.webhook` - raw body -> :class:`channels.events.WebhookBatch` of typed events;
* :mod:`channels.status` - delivery-status precedence for out-of-order callbacks;
* :mod:`channels.cloud_api` - ``CloudApiClient`` (send text/template, mark read), ``split_for_whatsapp``;
* :mod:`channels.errors` - ``MalformedWebhook`` and Meta's send conditions (subclasses of ``errors.SendError``);
* :mod:`channels.window` - 24-hour window, template registry and choice, ``plan_outbound``;
* :mod:`channels.optout` - STOP/BAJA/SAIR... commands, consent record, localised texts;
* :mod:`channels.contacts` - find or create contacts by ``wa_id`` and/or BSUID;
* :mod:`channels.ownership` - the proof that a channel's access token owns its number and account;
* :mod:`channels.fake_cloud_api` - a local fake Cloud API for tests, demo and benchmarks.
"""
