"""The normaliser's tables, by language. Data, not code: add a language by adding rows.

Each table is matched case-insensitively against whole lines (paragraphs) of extracted text.
"""

from __future__ import annotations

# Labels that introduce a link to another article inside a body ("Lire aussi : TITRE").
RELATED_LABELS: tuple[str, ...] = (
    # French
    "lire aussi", "à lire aussi", "a lire aussi", "lire également", "à lire également", "voir aussi",
    "à voir aussi", "sur le même sujet", "découvrir aussi", "à découvrir", "retrouvez aussi",
    # English
    "read also", "also read", "read more", "related", "related articles", "related article",
    "see also", "more on this", "more on this story", "recommended", "you may also like",
    # German
    "lesen sie auch", "lesen sie mehr", "mehr zum thema", "auch interessant", "siehe auch", "weiterlesen",
    # Spanish
    "leer también", "lea también", "lee también", "te puede interesar", "puede interesarte",
    "relacionado", "relacionada", "noticias relacionadas", "ver también", "más información",
    # Portuguese
    "leia também", "leia mais", "veja também", "saiba mais", "relacionadas", "ler também",
    # Italian
    "leggi anche", "leggi pure", "vedi anche", "potrebbe interessarti",
)  # fmt: skip

# Words that introduce a byline: "Par Marie Lenoir", "By Tom Hale".
BYLINE_PREFIXES: tuple[str, ...] = ("par", "by", "von", "por", "di", "de", "door", "written by", "texte")

# Credit lines at the end of a body, dropped: "Reporting by …; Editing by …".
CREDIT_PREFIXES: tuple[str, ...] = (
    "reporting by", "additional reporting by", "editing by", "writing by", "compiled by", "with reporting by",
    "reportage de", "con información de", "com informações de",
)  # fmt: skip

# The same, when followed by a colon: "Photo : AFP", "Mitarbeit: Jan Ohm".
CREDIT_LABELS: tuple[str, ...] = (
    "photo", "photos", "crédit photo", "crédits photo", "foto", "fotos", "bild", "image", "illustration",
    "mitarbeit", "texte", "text", "texto",
)  # fmt: skip

# Paywall and fundraising boxes: from the first short line holding one of these phrases to the end of
# the body, when everything after it is short too, the lines are the box, not the article.
PAYWALL_PHRASES: tuple[str, ...] = (
    # English
    "subscribe", "subscriber", "subscription", "sign in to", "log in to", "to continue reading",
    "support us", "consider supporting", "become a member", "free trial", "already have an account",
    # French
    "abonnez-vous", "réservé aux abonnés", "déjà abonné", "pour lire la suite", "abonnement",
    "soutenez-nous", "se connecter",
    # German
    "abonnenten", "abonnieren", "bereits abonnent", "weiterlesen mit", "lesen sie jetzt weiter",
    "jederzeit kündbar", "jetzt testen",
    # Spanish
    "suscriptor", "suscríbete", "suscripción", "sigue leyendo", "inicia sesión", "ya eres",
    # Portuguese
    "assinante", "assine", "assinatura", "continue lendo", "faça login", "já é assinante",
    # Italian
    "abbonati", "abbonato", "abbonamento", "continua a leggere",
)  # fmt: skip

# Lines that are an advertisement's label or its "the story goes on" notice, dropped wherever they are.
AD_LINES: tuple[str, ...] = (
    "advertisement", "advertising", "sponsored", "story continues below",
    "story continues below advertisement", "continue reading below", "article continues below",
    "publicité", "l'article continue ci-dessous", "anzeige", "werbung", "weiter nach der anzeige",
    "publicidad", "continúa leyendo", "publicidade", "continue lendo abaixo",
    "continua após a publicidade", "pubblicità", "continua a leggere sotto",
)  # fmt: skip

# Words that label a picture's credit at the end of a caption: "… — Foto: Renata Albuquerque/VNN".
CAPTION_CREDITS: tuple[str, ...] = (
    "photo", "photos", "foto", "fotos", "bild", "bilder", "imagem", "image", "crédit", "credit", "crédito",
    "picture", "illustration", "source image",
)  # fmt: skip

# Author values that name a desk, not a person.
NOT_PERSONS: tuple[str, ...] = (
    "redacción", "redação", "rédaction", "redaktion", "redazione", "staff", "newsroom", "editorial",
    "agencias", "agências", "agence", "the editors", "editors", "admin", "administrator",
)  # fmt: skip

# Titles that describe a site, not an article.
GENERIC_TITLES: frozenset[str] = frozenset(
    {"home", "homepage", "accueil", "index", "startseite", "inicio", "início", "portada", "news", "untitled",
     "article", "artikel", "article sans titre", "sem título", "sin título"}
)  # fmt: skip

# Words that introduce a source credit at the end of a body: "Source: Bamada.net".
SOURCE_PREFIXES: tuple[str, ...] = (
    "source", "sources", "fuente", "fuentes", "quelle", "quellen", "fonte", "fontes", "fonti", "bron",
)  # fmt: skip

# Name particles allowed in lower case inside a person's name.
NAME_PARTICLES: frozenset[str] = frozenset(
    {"de", "du", "des", "da", "das", "do", "dos", "di", "del", "della", "van", "von", "der", "den",
     "le", "la", "ben", "bin", "ibn", "el", "al", "y", "e", "zu", "ter", "st."}
)  # fmt: skip

# Words after which a line cannot end a sentence or a heading: a line ending with one was cut.
CONTINUATION_WORDS: frozenset[str] = frozenset(
    {
        # French
        "le", "la", "les", "l'", "l’", "un", "une", "des", "du", "de", "d'", "d’", "et", "ou", "à", "au",
        "aux", "en", "pour", "par", "avec", "sans", "sur", "sous", "dans", "chez", "entre", "vers", "que",
        "qui", "dont", "mais", "donc", "car", "ni", "ce", "cette", "ces", "son", "sa", "ses", "leur",
        "leurs", "notre", "votre", "mon", "ma", "mes", "monsieur", "madame", "mademoiselle", "m.", "mme",
        "mgr", "me", "ne", "se", "qu'", "qu’", "s'", "s’", "n'", "n’", "c'", "c’", "j'", "j’",
        # English
        "the", "a", "an", "of", "to", "and", "or", "in", "on", "at", "for", "with", "by", "from", "as",
        "that", "which", "who", "whose", "but", "mr", "mr.", "mrs", "mrs.", "ms", "ms.", "dr", "dr.",
        "its", "their", "his", "her", "our", "your", "is", "are", "was", "were", "be", "has", "have",
        # German
        "der", "die", "das", "den", "dem", "ein", "eine", "einen", "einem", "einer", "und",
        "oder", "zu", "im", "am", "auf", "mit", "von", "für", "bei", "nach", "über", "unter",
        "herr", "frau", "dass", "aus", "vom", "zum", "zur",
        # Spanish / Portuguese / Italian
        "el", "los", "las", "unos", "unas", "del", "y", "e", "o", "con", "por", "para", "sin", "sobre",
        "al", "señor", "señora", "sr.", "sra.", "os", "um", "uma", "do", "da", "dos", "em",
        "no", "na", "nos", "nas", "ao", "com", "sem", "senhor", "senhora", "il", "lo", "gli", "di",
        "della", "dello", "dei", "delle", "che", "signor", "signora",
    }
)  # fmt: skip

# Agencies that appear in datelines: "Lyon (AFP) - ", "BERLIN, 3. März (dpa) –".
AGENCIES: tuple[str, ...] = (
    "AFP", "AP", "Reuters", "dpa", "EFE", "ANSA", "Lusa", "APS", "MAP", "Belga", "ATS", "AA", "Xinhua",
    "Europa Press", "APA", "KNA", "epd", "Agência Brasil", "PA", "UPI", "Bloomberg",
)  # fmt: skip
