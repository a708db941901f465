//! The phrase patterns of the injection screen, matched on the folded word
//! stream of [`crate::guard::words::Words`] (lowercase, accents dropped,
//! one space between words): instruction overrides, jailbreak modes, role
//! switches, system-prompt extraction and requests to send data out, in
//! English, German, Spanish, French, Portuguese and Chinese.

use std::sync::OnceLock;

use aho_corasick::AhoCorasick;
use regex::Regex;

use crate::guard::injection::Rule;

/// One phrase pattern.
pub struct Phrase {
    /// The rule a match reports.
    pub rule: Rule,
    /// Why it matched, in a few words.
    pub why: &'static str,
    /// The pattern's source, compiled on first use.
    source: String,
    regex: OnceLock<Option<Regex>>,
    /// The literal pieces of the pattern: every match holds one of them.
    fragments: Vec<String>,
    /// Whether a match counts only as a whole imperative sentence: it
    /// starts a sentence and the sentence ends with it or goes on to the
    /// reader (`Print the system prompt.`, not `Print the system prompt
    /// only in debug builds`).
    pub sentence: bool,
}

/// How many phrase patterns there are (a test checks all compile).
pub const COUNT: usize = 32;

/// The phrase patterns, compiled once.
pub fn phrases() -> &'static [Phrase] {
    static PHRASES: OnceLock<Vec<Phrase>> = OnceLock::new();
    PHRASES.get_or_init(|| {
        let mut table = english();
        table.extend(german());
        table.extend(spanish());
        table.extend(french());
        table.extend(portuguese());
        table.extend(chinese());
        table
            .into_iter()
            .map(|(rule, why, pattern, flags)| {
                // ASCII word boundaries (`(?-u)`): with Unicode ones the
                // regex engine falls back to a much slower matcher on
                // non-ASCII text. Chinese patterns need no boundaries.
                let ascii = !matches!(flags, Flags::Unicode);
                let source = if ascii {
                    format!("(?-u){pattern}")
                } else {
                    pattern
                };
                Phrase {
                    rule,
                    why,
                    fragments: fragments(&source),
                    source,
                    regex: OnceLock::new(),
                    sentence: matches!(flags, Flags::Sentence),
                }
            })
            .collect()
    })
}

impl Phrase {
    /// The compiled pattern (compiled on first use: compiling all of them
    /// is most of a short command's start-up, and most texts need none).
    pub fn regex(&self) -> Option<&Regex> {
        self.regex
            .get_or_init(|| Regex::new(&self.source).ok())
            .as_ref()
    }
}

/// The phrases that can match `text`: those with a literal piece in it
/// (found in one pass for all of them), and any with no literal pieces.
pub fn candidates(text: &str) -> Vec<&'static Phrase> {
    static GATE: OnceLock<(AhoCorasick, Vec<usize>)> = OnceLock::new();
    let table = phrases();
    let (gate, owners) = GATE.get_or_init(|| {
        let mut pieces = Vec::new();
        let mut owners = Vec::new();
        for (index, phrase) in table.iter().enumerate() {
            for fragment in &phrase.fragments {
                pieces.push(fragment.as_str());
                owners.push(index);
            }
        }
        let gate = AhoCorasick::new(pieces).expect("literal pieces build an automaton");
        (gate, owners)
    });
    let mut wanted: Vec<bool> = table.iter().map(|p| p.fragments.is_empty()).collect();
    for hit in gate.find_overlapping_iter(text) {
        wanted[owners[hit.pattern().as_usize()]] = true;
    }
    table
        .iter()
        .zip(wanted)
        .filter_map(|(phrase, wanted)| wanted.then_some(phrase))
        .collect()
}

/// The literal pieces of a pattern's source: runs of letters outside
/// escapes and classes, less a last letter that a quantifier makes
/// optional. A match always contains one of them when every way through
/// the pattern passes a literal (a test checks each pattern has some).
fn fragments(source: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut run = String::new();
    let mut chars = source.chars().peekable();
    let mut in_class = false;
    let mut finish = |run: &mut String, optional_last: bool| {
        if optional_last {
            run.pop();
        }
        let meaningful = run.chars().count() >= 3 || !run.is_ascii();
        if meaningful && !found.contains(run) {
            found.push(run.clone());
        }
        run.clear();
    };
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                finish(&mut run, false);
                chars.next();
            }
            '[' => {
                finish(&mut run, false);
                in_class = true;
            }
            ']' => in_class = false,
            _ if in_class => {}
            c if c.is_alphanumeric() => run.push(c),
            '?' | '*' | '{' => finish(&mut run, true),
            _ => finish(&mut run, false),
        }
    }
    finish(&mut run, false);
    found
}

/// How a table pattern is compiled and checked.
#[derive(Clone, Copy)]
enum Flags {
    /// ASCII word boundaries.
    Plain,
    /// ASCII, and only a whole imperative sentence counts.
    Sentence,
    /// Unicode classes (Chinese).
    Unicode,
}

type Entry = (Rule, &'static str, String, Flags);

fn entry(rule: Rule, why: &'static str, pattern: impl Into<String>) -> Entry {
    (rule, why, pattern.into(), Flags::Plain)
}

/// Verbs that ask for something to be shown.
const EXTRACT: &str = r"(?:reveal|print|repeat|show|tell|output|display|dump|spell out|quote|give|share|leak|write out|write down|disclose|recite|expose|list|paste|type out|return|copy|reproduce|echo)";

/// What the system prompt is called.
const SYSTEM_PROMPT: &str = r"(?:system prompt|system message|system instructions|hidden prompt|initial prompt|secret prompt|pre prompt|preprompt|developer message|secret instructions|hidden instructions|original instructions|initial instructions)";

fn english() -> Vec<Entry> {
    let mut table = english_overrides();
    table.extend(english_roles());
    table.extend(english_extraction());
    table.push(entry(
        Rule::DataExfiltration,
        "asks to send the conversation or secrets to a web address",
        r"\b(?:send|post|upload|forward|transmit|leak|exfiltrate|copy|email|submit|pipe) (?:\w+ ){0,3}?(?:conversation|chat|chat history|chat log|transcript|history|previous messages|messages|system prompt|user data|personal data|api keys?|secrets?|passwords?|credentials|environment variables|env vars|ssh keys?|cookies)(?: \w+){0,4}? (?:to|at|into|via) (?:https?|www|ftp)\b",
    ));
    table
}

fn english_overrides() -> Vec<Entry> {
    // Verbs that only mean "ignore your instructions" with a word saying
    // whose instructions (`override the CSS rules` is ordinary).
    let strong = r"(?:ignore|ignoring|disregard|disregarding|neglect|overlook|nevermind|never mind|set aside|pay no attention to|do not follow|don t follow|dont follow|do not obey|don t obey|stop following)";
    let weak =
        r"(?:forget|forgetting|override|overriding|bypass|bypassing|skip|discard|drop|abandon)";
    let object = r"(?:instructions?|directions|directives?|rules|guidelines|guidance|prompts?|constraints|commands|programming|training|polic(?:y|ies)|restrictions|safety|filters?|guardrails|system message|system prompt|everything (?:above|before|prior|you (?:were|ve been|have been) told)|the above|above (?:text|and|then|this|line))";
    let qualifier =
        r"(?:your|ur|previous|prior|earlier|above|original|initial|preceding|all|any|these|those)";
    let guard_object = r"(?:safety|content filter|content policy|filters?|guardrails|system message|system prompt|everything (?:above|before|prior|you (?:were|ve been|have been) told)|(?:instructions|rules|guidelines) you (?:were|ve been|have been) given)";
    vec![
        entry(
            Rule::IgnoreInstructions,
            "asks to ignore or override earlier instructions",
            format!(
                r"\b{strong} (?:\w+ ){{0,4}}?{object}\b|\b{weak} (?:\w+ ){{0,2}}?{qualifier} (?:\w+ ){{0,2}}?{object}\b|\b{weak} (?:\w+ ){{0,2}}?{guard_object}\b"
            ),
        ),
        entry(
            Rule::IgnoreInstructions,
            "declares earlier instructions void",
            r"\b(?:(?:your|ur) (?:\w+ )?(?:instructions|guidance|rules|directives|guidelines)|(?:instructions|guidance|rules|directives|guidelines) (?:above|before)|everything you (?:were|have been|ve been) told)(?: \w+){0,4}? (?:no longer appl(?:y|ies)|(?:is|are) (?:now )?(?:void|outdated|obsolete|cancelled|revoked|invalid|null))\b",
        ),
        entry(
            Rule::IgnoreInstructions,
            "claims to supersede earlier instructions",
            r"\b(?:supersedes?|replaces?|overrides?) (?:all )?(?:\w+ )?(?:previous|prior|earlier|your|original) (?:ones|instructions|rules)\b|\bsystem override\b",
        ),
        entry(
            Rule::DeveloperMode,
            "asks for a jailbreak persona or unrestricted mode",
            r"\b(?:do anything now|dan mode|(?:you are|you re|as|be|called) dan|jailbroken|jailbreak (?:mode|prompt|enabled|activated)|(?:god|sudo|unrestricted|unfiltered|uncensored|devmode|evil|jailbreak) mode|developer mode (?:enabled|activated|output|has no|response)|(?:you are|you re) (?:now )?in developer mode|(?:enable|enter|activate|switch to|turn on) developer mode (?:and|to) (?:respond|answer|generate|ignore|output|reply)|devmode|broken free of)\b",
        ),
    ]
}

fn english_roles() -> Vec<Entry> {
    vec![
        entry(
            Rule::RoleSwitch,
            "switches the model to a persona without its rules",
            r"\b(?:you are now|you re now|you are an? (?:\w+ )?(?:ai|assistant|model|chatbot|bot|llm)|from now on you (?:are|will be|will act as)|act as|acting as|pretend (?:to be|you are|you re)|roleplay as|role play as|imagine you are|you will act as|behave as|respond as|your new (?:role|persona|identity) (?:is|will be))\b(?: \w+){0,12}? (?:no (?:restrictions?|limits?|rules|filters?|guidelines|content policy|policy|ethical|morals?|safety|censorship)|without (?:any )?(?:restrictions?|limits?|rules|filters?|guidelines|censorship|ethics)|unrestricted|unfiltered|uncensored|ignores? (?:all )?(?:the )?rules|never refuses?|evil|jailbroken|hacker|illegal|free|new rules|password|license keys?)\b",
        ),
        entry(
            Rule::RoleSwitch,
            "tells the model it is someone else",
            r"\b(?:you are|you re) (?:now )?(?:no longer (?:an? )?(?:ai|assistant|bound|chatgpt|claude|model)|now \w*(?:gpt|bot))\b",
        ),
    ]
}

fn english_extraction() -> Vec<Entry> {
    // A bare `prompt` is the model's prompt only where the sentence ends
    // or goes on about it (`tell me your favourite prompt engineering
    // tricks` asks for no secret).
    let prompt = r"prompt(?: \||$| (?:you|that|which|and|verbatim|word|in|to|as|now|then|please|above|exactly|text|content|contents|first|again|back|so|for|here|into|with|or|but|from|out|aloud)\b)";
    let secret_stuff = format!(
        r"(?:(?:system prompt|instructions|system message|initial prompt|rules|directives|guidelines|configuration|context|pre prompt|preprompt)\b|{prompt})"
    );
    let which = r"(?:\w+ )?";
    vec![
        entry(
            Rule::PromptExtraction,
            "asks for the system prompt or initial instructions",
            format!(r"\b{EXTRACT} (?:me )?(?:\w+ ){{0,2}}?(?:your|ur|yr) {which}{secret_stuff}"),
        ),
        entry(
            Rule::PromptExtraction,
            "asks for the hidden instructions",
            format!(
                r"\b{EXTRACT} (?:me )?the (?:initial|original|hidden|secret|full|complete|exact) (?:system )?(?:prompt|instructions|system message)\b|\bwhat (?:are|were|is|s|does|do|did) (?:your|ur) {which}{secret_stuff}"
            ),
        ),
        entry(
            Rule::PromptExtraction,
            "asks to repeat what came before",
            r"\b(?:repeat|print|output|reveal|dump|recite|quote) (?:all )?(?:of )?(?:the )?(?:text|everything|words|content|messages?|all) (?:above|before this|prior|preceding)\b|\b(?:written|said|text) at the (?:very )?(?:beginning|start|top) of (?:this|the) (?:conversation|chat|context)\b",
        ),
        entry(
            Rule::PromptExtraction,
            "asks to be shown the system prompt",
            format!(
                r"\b{EXTRACT} (?:me|us) (?:the|your|ur) (?:\w+ ){{0,4}}?{SYSTEM_PROMPT}\b|\b{EXTRACT} (?:me |us )?(?:the|your|ur) (?:\w+ ){{0,3}}?(?:instructions|prompt|rules|guidelines) you (?:were|have been|ve been|got|are running with|are following|received)\b|\b(?:let me (?:see|read|have)|can i (?:see|read|have)|may i (?:see|read|have)|i (?:want|need|would like|d like) to (?:see|read)) (?:\w+ ){{0,2}}?(?:your|ur) {which}(?:system prompt|prompt|instructions|system message|initial prompt|directives|guidelines|rules)\b"
            ),
        ),
        (
            Rule::PromptExtraction,
            "asks to print the system prompt",
            format!(
                r"\b(?:(?:please|pls|now|just|so|ok|okay|first|then|and|kindly) )*{EXTRACT}(?: me| us)? (?:the|this|that) (?:(?:full|entire|complete|exact|whole|current|raw|real|actual|text of the|contents of the|content of the) )*(?:{SYSTEM_PROMPT}|system prompt)\b"
            ),
            Flags::Sentence,
        ),
    ]
}

/// An override in a language that puts the qualifier before or after
/// the object: verb, then `qualifier .. object` or `object qualifier`.
fn override_entry(verb: &str, before: &str, object: &str, after: &str) -> Entry {
    entry(
        Rule::IgnoreInstructions,
        "asks to ignore or override earlier instructions",
        format!(
            r"\b{verb} (?:\w+ ){{0,4}}?(?:{before} (?:\w+ ){{0,2}}?{object}|{object} (?:\w+ )?{after})\b"
        ),
    )
}

/// A role switch: a head saying "you are now", then within a few words
/// a tail saying without rules.
fn role_entry(head: &str, tail: &str) -> Entry {
    entry(
        Rule::RoleSwitch,
        "switches the model to a persona without its rules",
        format!(r"\b{head}\b(?: \w+){{0,10}}? {tail}\b"),
    )
}

/// A request for the system prompt: a verb, then a possessive (`your`)
/// and the prompt or instructions, or a strong name of the system prompt.
fn extraction_entry(verb: &str, possessive: &str, object: &str, strong: &str) -> Entry {
    entry(
        Rule::PromptExtraction,
        "asks for the system prompt or initial instructions",
        format!(r"\b{verb} (?:\w+ ){{0,2}}?(?:{possessive} (?:\w+ ){{0,2}}?{object}|{strong})\b"),
    )
}

/// A request to send data out: verb, the data, a web address.
fn exfiltration_entry(verb: &str, data: &str, to: &str) -> Entry {
    entry(
        Rule::DataExfiltration,
        "asks to send the conversation or secrets to a web address",
        format!(r"\b{verb} (?:\w+ ){{0,4}}?{data}(?: \w+){{0,4}}? {to} (?:https?|www)\b"),
    )
}

fn german() -> Vec<Entry> {
    vec![
        entry(
            Rule::IgnoreInstructions,
            "asks to ignore or override earlier instructions",
            r"\b(?:ignorier(?:e|en)|vergiss|vergessen|missacht(?:e|en)|ubergeh(?:e|en)|verwirf|verwerfen)(?: sie)? (?:\w+ ){0,3}?(?:alle|allen|samtliche\w*|deine\w*|ihre\w*|vorherige\w*|vorige\w*|bisherige\w*|obige\w*|fruhere\w*|vorangegangene\w*|vorhergehende\w*|ursprungliche\w*) (?:\w+ ){0,2}?(?:anweisung(?:en)?|instruktionen|befehle|regeln|vorgaben|richtlinien|anordnungen|beschrankungen|einschrankungen|systemprompt\w*|systemanweisung\w*|prompts?|sicherheitsregeln|filter)\b",
        ),
        role_entry(
            r"(?:du bist (?:jetzt|nun|ab sofort|ab jetzt|von nun an)|ab (?:jetzt|sofort) bist du|von nun an bist du|sie sind (?:jetzt|nun|ab sofort)|tu so als|spiel\w* die rolle|deine neue rolle|agiere als|verhalte dich wie)",
            r"(?:ohne (?:\w+ )?(?:einschrankungen|beschrankungen|regeln|filter|grenzen|zensur|richtlinien|moral)|uneingeschrankt\w*|unzensiert\w*|ungefiltert\w*|bose\w*|keine (?:\w+ )?(?:regeln|einschrankungen|grenzen|filter|richtlinien)|dan|jailbreak\w*|hacker)",
        ),
        extraction_entry(
            r"(?:zeig(?:e|en)?(?: sie)?(?: mir| uns)?|gib(?: mir)?|geben sie(?: mir)?|nenne(?: mir)?|nennen sie|verrat(?:e)?(?: mir)?|wiederhole|wiederholen sie|drucke|schreib(?:e)?(?: mir)?|sag(?: mir)?|sagen sie(?: mir)?|enthulle|offenbare)",
            r"(?:deine[nmrs]?|ihre[nmrs]?|eure[nmrs]?)",
            r"(?:systemprompt\w*|system prompt\w*|systemanweisung\w*|systemnachricht\w*|anweisungen|instruktionen|vorgaben|regeln|prompt)",
            r"(?:den|die|das) (?:\w+ )?(?:systemprompt\w*|system prompt|systemanweisung\w*|systemnachricht|versteckten anweisungen|geheimen anweisungen|ursprunglichen anweisungen)",
        ),
        exfiltration_entry(
            r"(?:sende|senden sie|schick(?:e)?|schicken sie|ubermittle|ubermitteln sie|leite|leiten sie|lade|laden sie|poste)",
            r"(?:\w*verlauf|unterhaltung|konversation|gesprach|nachrichten|systemprompt|passworter|passwort|zugangsdaten|\w*schlussel|benutzerdaten|daten)",
            r"(?:an|zu|nach|auf)",
        ),
    ]
}

fn spanish() -> Vec<Entry> {
    vec![
        override_entry(
            r"(?:ignora|ignore|ignoren|ignorar|olvida|olvide|olviden|olvidate|descarta|descarte|desestima|omite|omita|haz caso omiso|hagan caso omiso|no sigas|no siga|no obedezcas|saltate|pasa por alto|anula|anule)",
            r"(?:tus|vuestras)",
            r"(?:instrucciones|indicaciones|directivas|directrices|reglas|ordenes|normas|restricciones|pautas|prompt|politicas)",
            r"(?:anteriores|previas|previos|iniciales|originales|precedentes|de arriba|del sistema|que te dieron|que recibiste)",
        ),
        role_entry(
            r"(?:ahora eres|ahora seras|a partir de ahora (?:eres|seras|actuaras como)|desde ahora (?:eres|seras)|finge (?:ser|que eres)|actua como|interpreta el papel de|haz el papel de|tu nuevo (?:rol|papel) es|eres ahora)",
            r"(?:sin (?:\w+ ){0,2}?(?:restricciones|restriccion|limites|reglas|regla|filtros|censura|normas|etica)|no tienes (?:\w+ )?(?:restricciones|reglas|limites|filtros)|ilimitad\w*|malvad\w*|dan|hacker)",
        ),
        extraction_entry(
            r"(?:muestra(?:me|nos)?|muestre(?:me|nos)?|ensename|ensenanos|dime|digame|revela(?:me)?|revele(?:me)?|imprime(?:me)?|escribe(?:me)?|repite(?:me)?|dame|copia|comparte)",
            r"(?:tus?|vuestros?|vuestras?)",
            r"(?:prompt|instrucciones|mensaje del sistema|reglas|directrices|indicaciones|configuracion)",
            r"(?:el|los|las) (?:prompt|mensaje|mensajes|instrucciones) (?:del sistema|de sistema|iniciales|ocultas|originales|secretas)",
        ),
        exfiltration_entry(
            r"(?:envia|envie|envien|manda|mande|sube|suba|reenvia|reenvie|transmite|filtra|publica)",
            r"(?:conversacion|historial|chat|mensajes|prompt|contrasenas|contrasena|claves|credenciales|datos)",
            r"(?:a|al|hacia|en)",
        ),
    ]
}

fn french() -> Vec<Entry> {
    vec![
        override_entry(
            r"(?:ignore|ignorez|ignorer|oublie|oubliez|oublier|ne tiens pas compte|ne tenez pas compte|fais abstraction|faites abstraction|neglige|negligez|passe outre|passez outre|contourne|contournez|ecarte|ecartez)",
            r"(?:tes|vos)",
            r"(?:instructions|consignes|directives|regles|ordres|indications|restrictions|prompt)",
            r"(?:precedentes|anterieures|initiales|originales|ci dessus|d origine|systeme|recues)",
        ),
        role_entry(
            r"(?:tu es (?:maintenant|desormais|a present)|vous etes (?:maintenant|desormais)|a partir de maintenant (?:tu es|vous etes)|desormais (?:tu es|vous etes)|fais semblant d etre|faites semblant d etre|agis comme|agissez comme|joue le role d\w*|ton nouveau role|tu joues le role)",
            r"(?:sans (?:\w+ ){0,2}?(?:restrictions?|limites?|regles?|filtres?|censure|ethique|morale)|aucune (?:restriction|limite|regle|censure)|non censure\w*|malveillant\w*|dan|hacker)",
        ),
        extraction_entry(
            r"(?:affiche(?:z)?(?: moi| nous)?|montre(?:z)?(?: moi| nous)?|donne(?:z)?(?: moi| nous)?|revele(?:z)?(?: moi| nous)?|repete(?:z)?|ecris(?: moi)?|ecrivez(?: moi)?|imprime(?:z)?|dis(?: moi)?|dites(?: moi)?|communique(?:z)?(?: moi)?)",
            r"(?:ton|ta|tes|votre|vos)",
            r"(?:prompt|instructions|consignes|directives|regles|message systeme|configuration)",
            r"(?:moi|nous) (?:le|les) (?:prompt systeme|message systeme|instructions (?:initiales|cachees|secretes|originales|systeme))",
        ),
        exfiltration_entry(
            r"(?:envoie|envoyez|transmets|transmettez|televerse|televersez|poste|postez|fais suivre|faites suivre|copie|copiez)",
            r"(?:conversation|historique|discussion|messages|prompt|mots de passe|mot de passe|cles|identifiants|donnees)",
            r"(?:a|vers|sur|au)",
        ),
    ]
}

fn portuguese() -> Vec<Entry> {
    vec![
        override_entry(
            r"(?:ignore|ignora|ignorem|ignorar|esqueca|esquece|esquecam|desconsidere|desconsidera|despreze|descarte|nao siga|nao obedeca|pule|burle|contorne)",
            r"(?:suas|seus|tuas|teus)",
            r"(?:instrucoes|instrucao|regras|diretrizes|orientacoes|ordens|comandos|restricoes|prompt|diretivas|politicas)",
            r"(?:anteriores|previas|iniciais|originais|acima|recebidas|do sistema|dadas)",
        ),
        role_entry(
            r"(?:agora voce e|agora tu es|a partir de agora (?:voce e|voce sera|tu es)|de agora em diante (?:voce e|voce sera)|finja (?:ser|que e|que voce e)|aja como|atue como|faca o papel de|seu novo papel e|voce agora e)",
            r"(?:sem (?:\w+ ){0,2}?(?:restricoes|restricao|limites|regras|regra|filtros|censura|etica)|nenhuma (?:restricao|regra|limitacao)|ilimitad\w*|malvad\w*|dan|hacker)",
        ),
        extraction_entry(
            r"(?:mostre(?: me)?|mostra(?: me)?|me mostre|revele(?: me)?|revela(?: me)?|diga(?: me)?|me diga|imprima|exiba|escreva|repita|compartilhe|copie)",
            r"(?:seu|sua|seus|suas|teu|tua|teus|tuas)",
            r"(?:prompt|instrucoes|regras|diretrizes|mensagem do sistema|configuracao|orientacoes)",
            r"(?:me|pra mim) (?:o|a|as|os) (?:prompt|mensagem|instrucoes) (?:do sistema|iniciais|ocultas|originais|secretas)",
        ),
        exfiltration_entry(
            r"(?:envie|envia|mande|manda|transmita|encaminhe|poste|publique|carregue)",
            r"(?:conversa|historico|chat|mensagens|prompt|senhas|senha|chaves|credenciais|dados)",
            r"(?:para|a|ao|em|pra)",
        ),
    ]
}

fn chinese() -> Vec<Entry> {
    let unicode = |rule: Rule, why: &'static str, pattern: &str| -> Entry {
        (rule, why, pattern.to_string(), Flags::Unicode)
    };
    let object = "(?:指令|指示|说明|說明|规则|規則|提示词|提示詞|系统提示|系統提示|约束|約束|限制|设定|設定|命令|要求|规定|規定)";
    vec![
        unicode(
            Rule::IgnoreInstructions,
            "asks to ignore or override earlier instructions",
            &format!("(?:忽略|忽视|忽視|无视|無視|不要理会|不要理會|别管|別管|不用管|不要遵守|不要遵循|停止遵守|忘记|忘記|忘掉|抛开|拋開|跳过|跳過|绕过|繞過|放弃|放棄|丢弃|丟棄).{{0,6}}?(?:之前|以前|先前|此前|上面|上述|前面|以上|原来|原來|原有|原始|最初|你的|你收到|所有|全部).{{0,8}}?{object}"),
        ),
        unicode(
            Rule::RoleSwitch,
            "switches the model to a persona without its rules",
            "(?:你现在是|你現在是|现在你是|現在你是|从现在开始你是|從現在開始你是|从现在起你是|從現在起你是|从今以后你是|從今以後你是|假装你是|假裝你是|扮演|你的新角色是|你将扮演|你將扮演).{0,24}?(?:没有任何限制|沒有任何限制|没有限制|沒有限制|不受任何|不受限制|无限制|無限制|没有任何规则|沒有任何規則|没有规则|沒有規則|不受约束|不受約束|无视规则|無視規則|没有道德|沒有道德|dan|邪恶|邪惡|越狱|越獄)",
        ),
        unicode(
            Rule::PromptExtraction,
            "asks for the system prompt or initial instructions",
            "(?:告诉我|告訴我|给我看|給我看|显示|顯示|输出|輸出|打印|展示|透露|泄露|洩露|重复|重複|列出|说出|說出|写出|寫出)(?:一下)?你的.{0,6}?(?:系统提示|系統提示|提示词|提示詞|初始指令|指令|指示|规则|規則|设定|設定|系统消息|系統消息|prompt)|把你的.{0,8}?(?:系统提示|系統提示|提示词|提示詞|指令|指示|规则|規則|设定|設定).{0,8}?(?:打印|输出|輸出|显示|顯示|告诉|告訴|写|寫|发|發|列)",
        ),
        unicode(
            Rule::DataExfiltration,
            "asks to send the conversation or secrets to a web address",
            "(?:对话|對話|聊天记录|聊天記錄|历史|歷史|系统提示|系統提示|用户数据|用戶數據|密码|密碼|密钥|密鑰|凭证|憑證).{0,16}?(?:发送|發送|发到|發到|上传|上傳|转发|轉發|传到|傳到|提交|发给|發給)(?:到|给|給|至)?.{0,4}?(?:https?|www)",
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_phrase_pattern_compiles() {
        // A pattern that fails to compile is dropped from the table.
        assert_eq!(phrases().len(), COUNT);
    }

    /// The gate must never hide a match: on every text of the guard
    /// corpora (attacks and benign), the phrases that match are the same
    /// with the gate as when every phrase is tried.
    #[test]
    fn the_literal_gate_never_hides_a_match() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/guard");
        let mut texts = 0;
        for name in ["attacks.jsonl", "benign.jsonl"] {
            let corpus = std::fs::read_to_string(dir.join(name)).expect("a corpus");
            for line in corpus.lines().filter(|l| !l.trim().is_empty()) {
                let value: serde_json::Value = serde_json::from_str(line).expect("JSON");
                let text = value["text"].as_str().expect("a text");
                let words = crate::guard::words::Words::new(text).text;
                let matching =
                    |phrase: &&Phrase| phrase.regex().is_some_and(|r| r.is_match(&words));
                let all: Vec<&str> = phrases()
                    .iter()
                    .filter(matching)
                    .map(|p| p.source.as_str())
                    .collect();
                let gated: Vec<&str> = candidates(&words)
                    .into_iter()
                    .filter(matching)
                    .map(|p| p.source.as_str())
                    .collect();
                assert_eq!(all, gated, "{text}");
                texts += 1;
            }
        }
        assert!(texts > 600, "{texts} texts");
        // Every phrase has pieces, or it would be tried on every text.
        for phrase in phrases() {
            assert!(!phrase.fragments.is_empty(), "{}", phrase.source);
        }
        assert!(candidates("hi").is_empty());
        let everyday = candidates("how do i list the files in a directory sorted by size");
        eprintln!(
            "everyday question: {} of {} phrases",
            everyday.len(),
            phrases().len()
        );
        assert!(everyday.len() < phrases().len() / 2);
    }
}
