# kind: solution
# expect: error
def algorithm(train_samples, train_parity, test_samples):
    # Text that Python holds but SQLite, files and terminals cannot take: lone surrogates,
    # NULs, escape sequences, in the message the orchestrator stores.
    raise ValueError('\ud800 \udfff \x00 \x1b]52;c;aGk=\x07 \x1b[2J' * 2000)
