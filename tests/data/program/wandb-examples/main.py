# Stand-in for minimal-hydra-example/main.py: Hydra-style key=value arguments (${args_no_hyphens}).
import json
import sys

args = dict(a.split("=", 1) for a in sys.argv[1:])
lr = float(args["optimizer.config.learning_rate"])
print(json.dumps({"val_loss": abs(lr - 0.01) + (0.1 if args["optimizer"] == "sgd" else 0)}))
