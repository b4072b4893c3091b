# Stand-in for sweeps-cross-validation/train-cross-validation.py: val_accuracy from the config.
import wandb

wandb.init()
c = wandb.config
acc = 0.5 + 0.1 * c.num_layers / 3 - abs(c.batch_size - 64) / 1000.0 + c.node_size1 / 10000.0
for epoch in range(3):
    wandb.log({"val_accuracy": acc * (epoch + 1) / 3})
wandb.finish()
