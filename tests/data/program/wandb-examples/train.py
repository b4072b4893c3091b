# Stand-in for keras-cnn-fashion/train.py: W&B config in, val_loss per epoch out.
import wandb

wandb.init(config={"dropout": 0.2, "learn_rate": 0.01, "epochs": 27})
c = wandb.config
for epoch in range(int(c.epochs)):
    loss = (c.dropout + float(c.decay) * 1e5) * c.learn_rate * 100 / (epoch + 1) + c.momentum
    wandb.log({"epoch": epoch, "val_loss": loss, "loss": loss * 1.1})
