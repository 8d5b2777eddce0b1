# Generates example_predictions.csv: synthetic predictions of a loan-approval
# classifier on a held-out set of 4,000 applicants, for docs/fairness.md.
# Deterministic (seed 20261130); run with python3 from this folder.
import random

random.seed(20261130)
rows = ["approved,predicted,score,sex,age_band"]
for _ in range(4000):
    r = random.random()
    sex = "female" if r < 0.47 else ("male" if r < 0.997 else "nonbinary")
    age = random.choices(["18-25", "26-45", "46+"], weights=[2, 5, 3])[0]
    # true repayment ("approved" label): similar across groups
    y = 1 if random.random() < {"18-25": 0.45, "26-45": 0.6, "46+": 0.58}[age] else 0
    # the model's score leans towards men and away from the youngest band
    s = random.gauss(0.32 + 0.30 * y + (0.07 if sex == "male" else 0.0) - (0.06 if age == "18-25" else 0.0), 0.16)
    s = min(1.0, max(0.0, s))
    rows.append(f"{y},{1 if s >= 0.5 else 0},{s:.4f},{sex},{age}")
with open("example_predictions.csv", "w") as f:
    f.write("\n".join(rows) + "\n")
