# kind: solution
# expect: error
class Escape(BaseException):
    pass


def algorithm(train_samples, train_parity, test_samples):
    raise Escape('bye')
