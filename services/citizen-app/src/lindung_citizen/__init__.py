"""The Lindung citizen app: a Progressive Web App and its backend-for-frontend gateway."""
