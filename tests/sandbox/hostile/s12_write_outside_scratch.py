# kind: solution
# expect: error
# events: write_outside_scratch
def algorithm(train_samples, train_parity, test_samples):
    with open('{OUTSIDE}', 'w') as f:
        f.write('escaped')
    return [0] * len(test_samples)
