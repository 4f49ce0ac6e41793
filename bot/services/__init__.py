"""Use cases: what the CLI, the bot's handlers and jobs, and the pollers ask of claimwatch.

Each public function that takes a session factory owns one transaction and calls the engine
(``bot.engine``) and the store (``store.queries``); none of them writes SQL or speaks Telegram.
``ingest`` stores posts and links their claims (a batch at a time: ``ingest_batch``, with
``linking_memory`` linking a batch's claims in memory and ``extract_pool`` reading posts in worker
processes for ``claimwatch import --jobs``); ``reports`` reads incidents back; ``sources`` and
``polling`` follow channels and feeds (``polling`` claims due sources, so the bot and any number
of ``claimwatch worker`` processes share them; ``prepared`` extracts a poll's posts before its
transaction); ``subscriptions`` keeps subscribers, admins and their
settings; ``delivery`` is the exactly-once delivery log, ``digests`` renders and sends digests and
alerts through it; ``keys`` names deliveries and digest jobs; ``reading`` answers readers' questions.
"""
