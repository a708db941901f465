//! Prompt-injection screening of user input and retrieved text (issue #7).
