"""The back-office pages under /operator/: thin views over the selectors in ../selectors and the
services of the apps that own each change. Every view admits operators only."""
