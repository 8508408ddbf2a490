"""Translation: English source items -> one file per study language (`pscale translate`).

The modules, each importing only modules listed above it (tests/test_imports.py checks it):

    schema              the stage's file contracts (translated columns, the QC table), the backend interface
    validate            offline checks of one translation (language, numbers, LaTeX, length, ...)
    translator_prompt   the versioned prompt files sent to the translating model
    cache, limiter, api the SQLite cache of completions, the RPM/TPM limiter, one API call with retries
    jobs                the openai backend's units of work, their attempts, token estimates and usage
    batch               the Batch API rounds (half price)
    reference, openai_backend   the two backends
    options             content vs runtime settings, and the one validation of `translation`
    stage               the stage: reads the source, runs a backend, applies QC, writes every file
"""
