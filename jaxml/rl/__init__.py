"""On-accelerator reinforcement learning on gymnax: environments, replay buffers, agents."""
