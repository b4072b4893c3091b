# Stand-in for sweeps-boolean-parameters/train-bool.py: boolean flags through wandb.config.
import wandb

run = wandb.init()
assert isinstance(wandb.config.flag1, bool) and isinstance(wandb.config.flag2, bool)
wandb.log({"score": int(wandb.config.flag1) + 2 * int(wandb.config.flag2),
           "adam": int(wandb.config.optimizer == "adam")})
run.finish()
